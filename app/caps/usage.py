"""What has gone in a cap's period: the clinic's month and day, in its time zone.

A message counts from the moment the worker claims it (`sending`: it will be sent, or be
`unknown`, never undone) and as long as it stays sent or answered; one that failed or went
back to wait does not. Its moment is `sent_at`, or `claimed_at` while it is being handed
over.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.caps.rules import Candidate, Limits, RecipientKey, Usage
from app.core.db import in_batches
from app.messages.models import MessageStatus, message_table

_message = message_table.c
_WENT_OUT = (MessageStatus.SENT, MessageStatus.ANSWERED)


@dataclass(frozen=True, slots=True)
class Periods:
    """The clinic's current day and month as labels and as UTC bounds [start, end)."""

    day: str
    month: str
    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def periods_at(now: datetime, time_zone: str) -> Periods:
    tz = ZoneInfo(time_zone)
    today = now.astimezone(tz).date()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return Periods(
        day=today.isoformat(),
        month=first.isoformat()[:7],
        day_start=_midnight(today, tz),
        day_end=_midnight(today + timedelta(days=1), tz),
        month_start=_midnight(first, tz),
        month_end=_midnight(next_first, tz),
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A batch the worker is claiming right now: its own rows are not yet usage."""

    worker_id: str
    at: datetime


def _counted(start: datetime, end: datetime, claim: Claim | None) -> list[ColumnElement[bool]]:
    went_out = and_(
        _message.status.in_(_WENT_OUT), _message.sent_at >= start, _message.sent_at < end
    )
    sending = and_(
        _message.status == MessageStatus.SENDING,
        _message.claimed_at >= start,
        _message.claimed_at < end,
    )
    if claim is not None:
        sending = and_(
            sending,
            not_(and_(_message.claimed_by == claim.worker_id, _message.claimed_at == claim.at)),
        )
    return [or_(went_out, sending)]


async def month_spend(
    session: AsyncSession, clinic_id: uuid.UUID, periods: Periods, claim: Claim | None = None
) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(_message.cost), 0)).where(
            _message.clinic_id == clinic_id,
            *_counted(periods.month_start, periods.month_end, claim),
        )
    )
    return Decimal(str(total or 0))


async def day_counts(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    periods: Periods,
    numbers: Sequence[str],
    claim: Claim | None = None,
) -> dict[RecipientKey, int]:
    counts: dict[RecipientKey, int] = {}
    for inside in in_batches(session, _message.to_number, numbers):
        rows = await session.execute(
            select(_message.patient_id, _message.to_number, func.count())
            .where(
                _message.clinic_id == clinic_id,
                inside,
                *_counted(periods.day_start, periods.day_end, claim),
            )
            .group_by(_message.patient_id, _message.to_number)
        )
        counts.update({(patient_id, number): count for patient_id, number, count in rows})
    return counts


async def usage_for(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    limits: Limits,
    periods: Periods,
    candidates: Sequence[Candidate],
    claim: Claim | None = None,
) -> Usage:
    """What the period has used, as far as the caps in `limits` need to know."""
    usage = Usage()
    if limits.monthly_spend_cap is not None:
        usage.spent = await month_spend(session, clinic_id, periods, claim)
    if limits.max_per_patient_per_day is not None:
        numbers = sorted(
            {
                candidate.to_number
                for candidate in candidates
                if candidate.to_number is not None and not limits.exempt(candidate.type)
            }
        )
        usage.counts = await day_counts(session, clinic_id, periods, numbers, claim)
    return usage
