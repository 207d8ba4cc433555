"""`message.status_changed`: what the practice system hears when a message moves on."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import in_batches
from app.events.models import EventType, event_subscription_table
from app.events.service import NewEvent, record_events
from app.messages.models import STATUS_CODES, MessageStatus, message_table

_message = message_table.c
_EVENT_COLUMNS = (
    _message.id,
    _message.clinic_id,
    _message.patient_id,
    _message.patient_no,
    _message.type,
    _message.appointment_id,
    _message.status,
    _message.delivery,
    _message.failure_reason,
    _message.failure_detail,
    _message.sent_at,
    _message.delivered_at,
    _message.answered_at,
    _message.failed_at,
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def message_event_data(row: Mapping[Any, Any]) -> dict[str, Any]:
    """No text and no number: the practice system has both, and logs of events may not."""
    status = MessageStatus(row["status"])
    return {
        "message_id": str(row["id"]),
        "status": status.value,
        "status_code": STATUS_CODES[status],
        "delivery": row["delivery"],
        "type": row["type"],
        "patient_no": row["patient_no"],
        "appointment_id": row["appointment_id"],
        "failure_reason": row["failure_reason"],
        "failure_detail": row["failure_detail"],
        "sent_at": _iso(row["sent_at"]),
        "delivered_at": _iso(row["delivered_at"]),
        "answered_at": _iso(row["answered_at"]),
        "failed_at": _iso(row["failed_at"]),
    }


async def record_message_status_events(
    session: AsyncSession,
    message_ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    only: ColumnElement[bool] | None = None,
) -> int:
    """Announce the current state of these messages (those of them `only` holds for, if
    given); a no-op (one cheap query) for clinics without an active subscription, which
    keeps the send loop's batches lean."""
    if not message_ids:
        return 0
    subscribed = select(event_subscription_table.c.clinic_id).where(
        event_subscription_table.c.disabled_at.is_(None)
    )
    also = [] if only is None else [only]
    events: list[NewEvent] = []
    for inside in in_batches(session, _message.id, message_ids):
        rows = await session.execute(
            select(*_EVENT_COLUMNS).where(inside, _message.clinic_id.in_(subscribed), *also)
        )
        events += (
            NewEvent(
                row.clinic_id,
                EventType.MESSAGE_STATUS_CHANGED,
                message_event_data(row._mapping),
                row.patient_id,
            )
            for row in rows
        )
    return await record_events(session, events, now=now)
