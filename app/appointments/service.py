"""Appointments pushed by the practice system, and the messages they schedule (§7).

An appointment change and everything it does to messages (cancelling the ones that no longer
fit, making new ones, recording what was decided and why) happen in the request's one
transaction: all of it commits, or none of it.
"""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.batch import Scheduling, schedule_many, upsert_many
from app.appointments.messaging import (
    AppointmentView,
    Context,
    Decided,
    day_appointments,
    decided_of,
    messages_of,
    require_appointment,
    stored_patient,
    with_messages,
)
from app.appointments.models import (
    AppointmentStatus,
    Confirmation,
    DecisionOutcome,
)
from app.appointments.scheduling import (
    REMINDER_KINDS,
    Kind,
    MessageFacts,
    Push,
)
from app.appointments.schemas import (
    AppointmentPublic,
    AppointmentWrite,
    ScheduleEntry,
)
from app.appointments.state import combined_state, reminder_state
from app.clinic_settings.service import get_clinic_settings
from app.core.batch import BatchOutcome
from app.core.errors import FieldError, InvalidInput
from app.messages.models import MessageStatus, message_table
from app.patients.models import Patient

_message = message_table.c


async def get_appointment(
    session: AsyncSession, *, clinic_id: uuid.UUID, appointment_id: str
) -> AppointmentView:
    appointment = await require_appointment(session, clinic_id, appointment_id)
    patient = await stored_patient(session, appointment)
    messages = await messages_of(session, clinic_id, [appointment_id])
    decided = await decided_of(session, clinic_id, [appointment_id])
    return AppointmentView(
        appointment, patient.patient_no, messages[appointment_id], decided[appointment_id]
    )


async def list_day(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    day: date,
    practitioner: str | None = None,
) -> list[AppointmentView]:
    """The appointments starting on `day` in the clinic's time zone, by start time."""
    settings = await get_clinic_settings(session, clinic_id)
    views = await day_appointments(
        session, clinic_id, day, ZoneInfo(settings.time_zone), practitioner
    )
    return await with_messages(session, clinic_id, views)


async def schedule(
    session: AsyncSession,
    context: Context,
    view: AppointmentView,
    patient: Patient,
    push: Push,
    patient_changed: bool,
    again: frozenset[str] = frozenset(),
) -> None:
    """Cancel what no longer fits, make what is missing, record every decision; kinds in
    `again` are decided anew."""
    await schedule_many(session, context, [Scheduling(view, patient, push, patient_changed, again)])


async def upsert_appointment(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    appointment_id: str,
    data: AppointmentWrite,
    now: datetime,
) -> tuple[AppointmentView, bool]:
    """Create or replace the appointment and schedule its messages; whether it was created."""
    [result] = await upsert_many(
        session, clinic_id=clinic_id, items=[(appointment_id, data)], now=now
    )
    if isinstance(result, FieldError):
        raise InvalidInput.for_field(result.field, result.reason, result.code)
    return result.view, result.outcome is BatchOutcome.CREATED


def _current_skips(decided: dict[str, Decided], start: datetime) -> dict[str, str]:
    """The skip reasons of the kinds skipped for the appointment starting at `start`."""
    return {
        kind: row.skip_reason
        for kind, row in decided.items()
        if row.start_at == start and row.outcome == DecisionOutcome.SKIPPED and row.skip_reason
    }


def _entry(
    kind: Kind, messages: list[MessageFacts], skip: str | None, start: datetime, now: datetime
) -> ScheduleEntry:
    state, reason = combined_state(messages, start=start, now=now, skip_reason=skip)
    waiting = [m.next_attempt_at for m in messages if m.status == MessageStatus.PENDING]
    sent = [m.sent_at for m in messages if m.sent_at is not None]
    return ScheduleEntry(
        kind=kind,
        state=state,
        reason=reason,
        message_ids=[m.id for m in messages],
        scheduled_for=min(waiting, default=None),
        sent_at=max(sent, default=None),
    )


def to_public(view: AppointmentView, now: datetime) -> AppointmentPublic:
    appointment = view.appointment
    start = appointment.start_at
    # A day's list answers this for hundreds of appointments: each message is looked at once.
    current: dict[str, list[MessageFacts]] = {}
    for message in view.messages:
        if message.appointment_start_at == start and message.status != MessageStatus.CANCELLED:
            current.setdefault(message.type, []).append(message)
    skips = _current_skips(view.decided, start)
    reminders = [message for kind in REMINDER_KINDS for message in current.get(kind, ())]
    state, reason = reminder_state(
        reminders,
        start=start,
        now=now,
        skip_reason=next((skips[kind] for kind in REMINDER_KINDS if kind in skips), None),
    )
    entries = [
        _entry(kind, current.get(kind, []), skips.get(kind), start, now)
        for kind in Kind
        if kind in current or kind in skips
    ]
    return AppointmentPublic(
        appointment_id=appointment.appointment_id,
        patient_no=view.patient_no,
        practitioner=appointment.practitioner,
        start=start,
        end=appointment.end_at,
        status=AppointmentStatus(appointment.status),
        sms_reminders=appointment.sms_reminders,
        confirmation=Confirmation(appointment.confirmation) if appointment.confirmation else None,
        confirmation_at=appointment.confirmation_at,
        reminder_state=state,
        reminder_skip_reason=reason,
        schedule=entries,
        created_at=appointment.created_at,
        updated_at=appointment.updated_at,
    )
