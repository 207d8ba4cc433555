"""Provider delivery reports: stored on arrival (verify, persist, answer; see `intake`),
applied in batches by the worker.

A report sent twice is stored once (a unique key). Applying takes many reports at a time:
it locks their messages (skipping any another transaction holds, to come back to them),
folds each message's part reports into one delivery state, and applies that order-safely.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import PendingJob
from app.core.models import new_id
from app.deliveries.models import delivery_report_table
from app.deliveries.parts import PartReport, message_delivery
from app.deliveries.service import DeliveryReport, apply_delivery_reports
from app.messages.models import DeliveryState, message_table

logger = logging.getLogger(__name__)

APPLY_STORED_JOB = "deliveries.apply_stored"
APPLY_BATCH_SIZE = 1000
REPORT_KEY = ("clinic_id", "provider", "external_id", "status_code")

_report = delivery_report_table.c
_message = message_table.c


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """One report as a provider adapter read it from a webhook body."""

    external_id: str
    status_code: str
    message_id: uuid.UUID | None  # ours; None when the report carries no id of ours
    state: DeliveryState
    detail: str | None = None
    part: int | None = None
    occurred_at: datetime | None = None


def apply_job(now: datetime) -> PendingJob:
    # Runs at the end of the second, so it takes every report stored during it.
    second = int(now.timestamp()) + 1
    return PendingJob(
        APPLY_STORED_JOB,
        (),
        job_id=f"apply-reports:{second}",
        defer_until=datetime.fromtimestamp(second, UTC),
    )


def report_row(
    report: ParsedReport, *, clinic_id: uuid.UUID, provider: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "clinic_id": clinic_id,
        "provider": provider,
        "external_id": report.external_id,
        "status_code": report.status_code,
        "message_id": report.message_id,
        "part": report.part,
        "state": report.state.value,
        "detail": report.detail,
        "occurred_at": min(report.occurred_at or now, now),
        "received_at": now,
        "applied_at": None,
    }


@dataclass
class AppliedReports:
    claimed: int = 0
    applied: int = 0
    unknown_message: int = 0
    waiting: int = 0  # their message was busy in another transaction; next round
    changed: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Locked:
    clinic_id: uuid.UUID
    provider: str | None  # None: never handed to a provider
    segments: int


async def _lock_free_messages(
    session: AsyncSession, message_ids: set[uuid.UUID]
) -> dict[uuid.UUID, _Locked]:
    """The messages no other transaction holds, now locked by us.

    SKIP LOCKED: waiting for a send loop's update could deadlock; a skipped report is
    simply applied by the next round."""
    rows = await session.execute(
        select(_message.id, _message.clinic_id, _message.provider, _message.segments)
        .where(_message.id.in_(message_ids))
        .order_by(_message.id)
        .with_for_update(skip_locked=True)
    )
    return {
        message_id: _Locked(clinic_id, provider, segments)
        for message_id, clinic_id, provider, segments in rows
    }


async def _existing(session: AsyncSession, message_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these messages exist (those not locked by us: held by another one)."""
    if not message_ids:
        return set()
    rows = await session.execute(select(_message.id).where(_message.id.in_(message_ids)))
    return set(rows.scalars())


def _fits(message: _Locked | None, clinic_id: uuid.UUID, provider: str) -> bool:
    """A report counts for the clinic's own message, from the provider that took it: a
    report through another provider's webhook (which may not check a signature) cannot
    change a message sent through Twilio, nor one never handed to a provider."""
    return message is not None and (message.clinic_id, message.provider) == (clinic_id, provider)


async def _parts_of(
    session: AsyncSession, messages: dict[uuid.UUID, _Locked]
) -> dict[uuid.UUID, list[PartReport]]:
    """Every report stored for these messages, earlier rounds' included."""
    rows = await session.execute(
        select(
            _report.message_id,
            _report.clinic_id,
            _report.provider,
            _report.part,
            _report.state,
            _report.occurred_at,
            _report.detail,
        ).where(_report.message_id.in_(messages))
    )
    parts: dict[uuid.UUID, list[PartReport]] = {}
    for message_id, clinic_id, provider, part, state, occurred_at, detail in rows.all():
        if _fits(messages[message_id], clinic_id, provider):
            report = PartReport(part, DeliveryState(state), occurred_at, detail)
            parts.setdefault(message_id, []).append(report)
    return parts


async def apply_stored_reports(
    session: AsyncSession, *, now: datetime, limit: int = APPLY_BATCH_SIZE
) -> AppliedReports:
    """Apply up to `limit` stored reports not applied yet, oldest first."""
    claimed = (
        await session.execute(
            select(_report.id, _report.clinic_id, _report.provider, _report.message_id)
            # A sandbox report is stored ahead, received at the time it is due.
            .where(_report.applied_at.is_(None), _report.received_at <= now)
            .order_by(_report.received_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    result = AppliedReports(claimed=len(claimed))
    if not claimed:
        return result
    wanted = {message_id for _, _, _, message_id in claimed}
    locked = await _lock_free_messages(session, wanted)
    busy = await _existing(session, wanted - locked.keys())
    parts = await _parts_of(session, locked)
    outcomes = []
    for message_id, reports in parts.items():
        outcome = message_delivery(reports, segments=locked[message_id].segments)
        if outcome is not None:
            outcomes.append(
                DeliveryReport(message_id, outcome.state, outcome.occurred_at, outcome.detail)
            )
    result.changed = await apply_delivery_reports(session, outcomes, now=now)
    done = [report_id for report_id, _, _, message_id in claimed if message_id not in busy]
    await session.execute(
        update(delivery_report_table).where(_report.id.in_(done)).values(applied_at=now)
    )
    unknown = [
        (report_id, clinic_id, message_id)
        for report_id, clinic_id, provider, message_id in claimed
        if message_id not in busy and not _fits(locked.get(message_id), clinic_id, provider)
    ]
    for _, clinic_id, message_id in unknown:
        logger.warning(
            "delivery report for no message this clinic sent through this provider; ignored",
            extra={"clinic_id": str(clinic_id), "message_id": str(message_id)},
        )
    result.applied = len(done) - len(unknown)
    result.unknown_message = len(unknown)
    result.waiting = len(claimed) - len(done)
    return result
