"""Reconciliation: no sent message waits for ever for its delivery report.

A message still `accepted` after its provider's report window is looked up where the
provider has a status API (Twilio, Sinch), again each hour, and what the provider says is
stored as a report and applied like one. Where there is no status API (LINK Mobility, the
sandbox), or the lookups never settle it, it becomes delivery `unknown` with the reason
`no_report` once the provider could no longer report on it.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.inserts import insert_new
from app.core.jobs import enqueue_after_commit
from app.deliveries.models import delivery_report_table
from app.deliveries.reports import REPORT_KEY, ParsedReport, apply_job, report_row
from app.events.messages import record_message_status_events
from app.messages.models import DeliveryReason, DeliveryState, MessageStatus, message_table
from app.reconciliation.lookups import LookupRequest

_message = message_table.c


@dataclass(frozen=True, slots=True)
class ReportWindow:
    look_up_after: timedelta  # a report is overdue: ask the provider
    settle_after: timedelta  # the provider can no longer report: settle as unknown


# Twilio queues a message at most 10 h (ValidityPeriod) and reports within minutes of the
# outcome; Sinch keeps it at most 3 days (expire_at) and retries callbacks for about 23 h.
LOOKUP_WINDOWS: Mapping[str, ReportWindow] = {
    "twilio": ReportWindow(look_up_after=timedelta(hours=1), settle_after=timedelta(hours=48)),
    "sinch": ReportWindow(look_up_after=timedelta(hours=1), settle_after=timedelta(hours=96)),
}
# No status API (LINK Mobility: validity at most 48 h; the sandbox): settled after this.
NO_LOOKUP_SETTLE_AFTER = timedelta(hours=48)
LOOK_UP_EVERY = timedelta(hours=1)
LOOKUP_BATCH = 200


@dataclass(frozen=True, slots=True)
class DueLookup:
    clinic_id: uuid.UUID
    provider: str
    request: LookupRequest


def _awaiting_report() -> list[ColumnElement[bool]]:
    return [
        _message.delivery == DeliveryState.ACCEPTED,
        _message.status.in_([MessageStatus.SENT, MessageStatus.ANSWERED]),
    ]


async def settle_without_report(session: AsyncSession, *, now: datetime) -> int:
    """Messages past their provider's last chance to report: delivery `unknown`, `no_report`."""
    past_window = or_(
        *(
            and_(_message.provider == provider, _message.sent_at <= now - window.settle_after)
            for provider, window in LOOKUP_WINDOWS.items()
        ),
        and_(
            or_(_message.provider.is_(None), _message.provider.not_in(list(LOOKUP_WINDOWS))),
            _message.sent_at <= now - NO_LOOKUP_SETTLE_AFTER,
        ),
    )
    result = await session.execute(
        update(message_table)
        .where(*_awaiting_report(), past_window)
        .values(delivery=DeliveryState.UNKNOWN, delivery_reason=DeliveryReason.NO_REPORT)
        .returning(_message.id)
    )
    settled = list(result.scalars())
    await record_message_status_events(session, settled, now=now)
    return len(settled)


async def claim_lookups(
    session: AsyncSession, *, now: datetime, limit: int = LOOKUP_BATCH
) -> list[DueLookup]:
    """Overdue messages whose provider can be asked, each at most once an hour."""
    overdue = or_(
        *(
            and_(_message.provider == provider, _message.sent_at <= now - window.look_up_after)
            for provider, window in LOOKUP_WINDOWS.items()
        )
    )
    rows = (
        await session.execute(
            select(
                _message.id,
                _message.clinic_id,
                _message.provider,
                _message.provider_message_id,
                _message.to_number,
            )
            .where(
                *_awaiting_report(),
                overdue,
                _message.provider_message_id.is_not(None),
                _message.to_number.is_not(None),
                or_(
                    _message.report_checked_at.is_(None),
                    _message.report_checked_at <= now - LOOK_UP_EVERY,
                ),
            )
            .order_by(_message.sent_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if rows:
        await session.execute(
            update(message_table)
            .where(_message.id.in_([row.id for row in rows]))
            .values(report_checked_at=now)
        )
    return [
        DueLookup(
            row.clinic_id,
            row.provider,
            LookupRequest(row.id, row.provider_message_id, row.to_number),
        )
        for row in rows
    ]


async def store_looked_up(
    session: AsyncSession,
    found: Sequence[tuple[DueLookup, ParsedReport]],
    *,
    now: datetime,
) -> int:
    """Stored as the provider's reports (a repeat of one already stored is skipped) and
    applied by the worker like any other."""
    rows = [
        report_row(report, clinic_id=due.clinic_id, provider=due.provider, now=now)
        for due, report in found
        if report.state is not DeliveryState.ACCEPTED
    ]
    stored = await insert_new(session, delivery_report_table, rows, unique=REPORT_KEY)
    if stored:
        enqueue_after_commit(session, apply_job(now))
    return len(stored)
