"""Replies JA/NEI to a reminder or booking confirmation, applied to the appointment."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.service import apply_reply_keyword
from app.events.models import EventType
from app.events.service import NewEvent, record_events
from app.messages.models import Message
from app.replies.keywords import Keyword
from app.replies.models import Reply

_EVENTS = {
    "confirmed": EventType.APPOINTMENT_CONFIRMED,
    "cancellation_requested": EventType.APPOINTMENT_CANCELLATION_REQUESTED,
}


async def apply_confirmation_reply(session: AsyncSession, reply: Reply, now: datetime) -> None:
    """Confirm the appointment or ask to cancel it, and tell the practice system; a reply to
    a time that has since moved or passed is left for staff."""
    if reply.keyword not in (Keyword.CONFIRM, Keyword.CANCEL) or reply.message_id is None:
        return
    message = await session.get(Message, reply.message_id)
    if message is None or message.appointment_id is None:
        return
    outcome = await apply_reply_keyword(
        session,
        clinic_id=reply.clinic_id,
        appointment_id=message.appointment_id,
        message_id=message.id,
        keyword="confirm" if reply.keyword == Keyword.CONFIRM else "cancel",
        now=now,
    )
    event_type = _EVENTS.get(outcome)
    if event_type is None:
        return
    data = {
        "appointment_id": message.appointment_id,
        "reply_id": str(reply.id),
        "at": now.isoformat().replace("+00:00", "Z"),
    }
    await record_events(
        session, [NewEvent(reply.clinic_id, event_type, data, reply.patient_id)], now=now
    )
