"""Replies JA/NEI to a reminder or booking confirmation, applied to the appointment.

A JA is the last time the appointment asks: the later reminders that go only if unconfirmed
are cancelled (reason `confirmed`), and any other text still waiting to ask is made again
without asking.
"""

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.lookup import find_appointment
from app.appointments.messaging import (
    AppointmentView,
    load_context,
    stored_patient,
    with_messages,
)
from app.appointments.models import (
    Appointment,
    AppointmentStatus,
    Confirmation,
    message_appointment_table,
)
from app.appointments.scheduling import REPLY_KINDS, push_of
from app.appointments.service import schedule
from app.events.models import EventType
from app.events.service import NewEvent, record_events
from app.messages.models import Message, message_table
from app.replies.keywords import Keyword
from app.replies.models import Reply

_EVENTS = {
    "confirmed": EventType.APPOINTMENT_CONFIRMED,
    "cancellation_requested": EventType.APPOINTMENT_CANCELLATION_REQUESTED,
}
_message = message_table.c
_link = message_appointment_table.c


async def apply_confirmation_reply(session: AsyncSession, reply: Reply, now: datetime) -> None:
    """Confirm every appointment the answered message is for, or ask to cancel each, and tell
    the practice system of each; a reply to a time that has since moved or passed is left
    for staff."""
    if reply.keyword not in (Keyword.CONFIRM, Keyword.CANCEL) or reply.message_id is None:
        return
    message = await session.get(Message, reply.message_id)
    if message is None or message.clinic_id != reply.clinic_id or message.appointment_id is None:
        return
    events: list[NewEvent] = []
    for appointment_id, patient_id in await _appointments_of(session, message, reply):
        outcome = await apply_reply_keyword(
            session,
            clinic_id=reply.clinic_id,
            appointment_id=appointment_id,
            message_id=message.id,
            keyword="confirm" if reply.keyword == Keyword.CONFIRM else "cancel",
            now=now,
        )
        event_type = _EVENTS.get(outcome)
        if event_type is None:
            continue
        data = {
            "appointment_id": appointment_id,
            "reply_id": str(reply.id),
            "at": now.isoformat().replace("+00:00", "Z"),
        }
        events.append(NewEvent(reply.clinic_id, event_type, data, patient_id))
    await record_events(session, events, now=now)


async def _appointments_of(
    session: AsyncSession, message: Message, reply: Reply
) -> list[tuple[str, uuid.UUID | None]]:
    """The appointments the message is for, with whose each is (their events name them):
    those it is shared by, else its own (the reply's patient)."""
    statement = (
        select(_link.appointment_id, _link.patient_id)
        .where(_link.clinic_id == message.clinic_id, _link.message_id == message.id)
        .order_by(_link.appointment_start_at, _link.appointment_id)
    )
    shared = [(row.appointment_id, row.patient_id) for row in await session.execute(statement)]
    assert message.appointment_id is not None
    return shared or [(message.appointment_id, reply.patient_id)]


async def apply_reply_keyword(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    appointment_id: str,
    message_id: uuid.UUID,
    keyword: Literal["confirm", "cancel"],
    now: datetime,
) -> Literal["confirmed", "cancellation_requested", "ignored"]:
    """A JA/NEI reply to a reminder or booking confirmation: mark the appointment confirmed
    or cancellation-requested. Ignored when the message was not for this appointment's
    current time (it has moved since), or the appointment is no longer booked or has begun."""
    appointment = await find_appointment(
        session, clinic_id=clinic_id, appointment_id=appointment_id, for_update=True
    )
    if appointment is None or not await _reply_fits(session, appointment, message_id):
        return "ignored"
    if appointment.status != AppointmentStatus.BOOKED or appointment.start_at <= now:
        return "ignored"
    if keyword == "cancel":
        _confirm(appointment, Confirmation.CANCELLATION_REQUESTED, now)
        return "cancellation_requested"
    if _confirm(appointment, Confirmation.CONFIRMED, now):
        await _ask_no_more(session, appointment, now)
    return "confirmed"


def _confirm(appointment: Appointment, confirmation: Confirmation, now: datetime) -> bool:
    """The latest answer counts; the same answer twice keeps the first time. Whether the
    answer changed."""
    if appointment.confirmation == confirmation:
        return False
    appointment.confirmation = confirmation.value
    appointment.confirmation_at = now
    appointment.updated_at = now
    return True


async def _ask_no_more(session: AsyncSession, appointment: Appointment, now: datetime) -> None:
    context = await load_context(session, appointment.clinic_id, now)
    patient = await stored_patient(session, appointment)
    [view] = await with_messages(
        session, appointment.clinic_id, [AppointmentView(appointment, patient.patient_no)]
    )
    push = push_of(appointment, AppointmentStatus.BOOKED, just_confirmed=True)
    await schedule(session, context, view, patient, push, patient_changed=False)


async def _reply_fits(
    session: AsyncSession, appointment: Appointment, message_id: uuid.UUID
) -> bool:
    statement = select(
        _message.type,
        func.coalesce(_link.patient_id, _message.patient_id).label("patient_id"),
        func.coalesce(_link.appointment_start_at, _message.appointment_start_at).label("start"),
        _message.created_at,
    ).where(
        _message.id == message_id,
        _message.clinic_id == appointment.clinic_id,
        or_(
            _message.appointment_id == appointment.appointment_id,
            _link.appointment_id.is_not(None),
        ),
    )
    statement = statement.outerjoin(
        message_appointment_table,
        (_link.message_id == _message.id) & (_link.appointment_id == appointment.appointment_id),
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None or row.type not in REPLY_KINDS:
        return False
    if row.patient_id is not None and row.patient_id != appointment.patient_id:
        return False  # the slot went to another patient: the old one's answer is not theirs
    if row.start is not None:
        return bool(row.start == appointment.start_at)
    # Made before the appointment was pushed: it fits unless the appointment moved since.
    moved_at = appointment.rescheduled_at
    return moved_at is None or moved_at <= row.created_at
