"""Delivery reports, from any provider (and the sandbox), applied in batches.

Order-safe: `delivered` and `undelivered` are final, so a late `accepted` (or a repeat of
the same report) changes nothing. Reports are matched by our message id where the provider
echoes it, else by the provider's message id.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import bulk_update
from app.messages.models import DeliveryState, message_table

# Which delivery states a report may replace: never a final one.
_REPLACEABLE: dict[DeliveryState, tuple[DeliveryState, ...]] = {
    DeliveryState.ACCEPTED: (),
    DeliveryState.UNKNOWN: (DeliveryState.ACCEPTED,),
    DeliveryState.DELIVERED: (DeliveryState.ACCEPTED, DeliveryState.UNKNOWN),
    DeliveryState.UNDELIVERED: (DeliveryState.ACCEPTED, DeliveryState.UNKNOWN),
}


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    message_id: uuid.UUID
    state: DeliveryState
    occurred_at: datetime


async def apply_delivery_reports(session: AsyncSession, reports: Sequence[DeliveryReport]) -> None:
    """Apply reports with one statement per delivery state."""
    delivery = message_table.c.delivery
    for state, replaceable in _REPLACEABLE.items():
        matching = [report for report in reports if report.state is state]
        rows = [
            {"id": report.message_id, "delivered_at": report.occurred_at}
            if state is DeliveryState.DELIVERED
            else {"id": report.message_id}
            for report in matching
        ]
        await bulk_update(
            session,
            message_table,
            rows,
            where=[or_(delivery.is_(None), *(delivery == old.value for old in replaceable))],
            values={"delivery": state.value},
        )
