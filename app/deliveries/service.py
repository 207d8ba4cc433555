"""Delivery reports, from any provider (and the sandbox), applied in batches.

Order-safe: `delivered` and `undelivered` are final, so a late `accepted` (or a repeat of
the same report) changes nothing. Reports are matched by our message id, which every
provider echoes (LINK `refId`, Sinch `client_reference`, our Twilio callback URL).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import bulk_update
from app.events.messages import record_message_status_events
from app.messages.models import DeliveryState, message_table

# Which delivery states a report may replace: never a final one.
_REPLACEABLE: dict[DeliveryState, tuple[DeliveryState, ...]] = {
    DeliveryState.ACCEPTED: (),
    DeliveryState.UNKNOWN: (DeliveryState.ACCEPTED,),
    DeliveryState.DELIVERED: (DeliveryState.ACCEPTED, DeliveryState.UNKNOWN),
    DeliveryState.UNDELIVERED: (DeliveryState.ACCEPTED, DeliveryState.UNKNOWN),
}
NOT_DELIVERED = "the provider reports the message was not delivered"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    message_id: uuid.UUID
    state: DeliveryState
    occurred_at: datetime
    detail: str | None = None  # why it was not delivered, from the provider's code


def replaces(new: DeliveryState, current: str | None) -> bool:
    return current is None or DeliveryState(current) in _REPLACEABLE[new]


async def _lock_deliveries(
    session: AsyncSession, message_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    # In id order, so two appliers of overlapping batches cannot deadlock.
    rows = await session.execute(
        select(message_table.c.id, message_table.c.delivery)
        .where(message_table.c.id.in_(message_ids))
        .order_by(message_table.c.id)
        .with_for_update()
    )
    return dict(rows.all())


def _changes(
    reports: Sequence[DeliveryReport], current: dict[uuid.UUID, str | None]
) -> dict[uuid.UUID, DeliveryReport]:
    """The report that wins per message, folding the reports in the order they came."""
    winners: dict[uuid.UUID, DeliveryReport] = {}
    for report in reports:
        if report.message_id not in current:
            continue
        winner = winners.get(report.message_id)
        state_now = winner.state.value if winner else current[report.message_id]
        if replaces(report.state, state_now):
            winners[report.message_id] = report
    return winners


def _update_row(report: DeliveryReport) -> dict[str, Any]:
    if report.state is DeliveryState.DELIVERED:
        return {"id": report.message_id, "delivered_at": report.occurred_at}
    if report.state is DeliveryState.UNDELIVERED:
        return {"id": report.message_id, "failure_detail": report.detail or NOT_DELIVERED}
    return {"id": report.message_id}


async def apply_delivery_reports(
    session: AsyncSession, reports: Sequence[DeliveryReport], *, now: datetime | None = None
) -> list[uuid.UUID]:
    """Apply reports with one statement per delivery state; answers the messages changed.

    Each change is announced to the practice system as `message.status_changed`, dated
    `now` (or, for callers without a clock, the newest report's time).
    """
    if not reports:
        return []
    current = await _lock_deliveries(session, {report.message_id for report in reports})
    winners = _changes(reports, current)
    delivery = message_table.c.delivery
    for state, replaceable in _REPLACEABLE.items():
        await bulk_update(
            session,
            message_table,
            [_update_row(report) for report in winners.values() if report.state is state],
            # Kept although the rows are locked: SQLite takes no row locks.
            where=[or_(delivery.is_(None), *(delivery == old.value for old in replaceable))],
            # A report came after all: the settlement's `no_report` no longer holds.
            values={"delivery": state.value, "delivery_reason": None},
        )
    changed = list(winners)
    moment = now or max(report.occurred_at for report in reports)
    await record_message_status_events(session, changed, now=moment)
    return changed
