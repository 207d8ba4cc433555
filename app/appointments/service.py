"""Appointments pushed by the practice system, and the messages they schedule (§7).

An appointment change and everything it does to messages (cancelling the ones that no longer
fit, making new ones, recording what was decided and why) happen in the request's one
transaction: all of it commits, or none of it.
"""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import grouping
from app.appointments.composer import Composer
from app.appointments.lookup import find_appointment
from app.appointments.messaging import (
    AppointmentView,
    Context,
    Decided,
    cancel_pending,
    day_appointments,
    decided_of,
    load_context,
    messages_of,
    record_decisions,
    require_appointment,
    stored_patient,
    with_messages,
    withdraw_decisions,
)
from app.appointments.models import (
    Appointment,
    AppointmentStatus,
    Confirmation,
    DecisionOutcome,
)
from app.appointments.scheduling import (
    REMINDER_KINDS,
    UNDOABLE_REASONS,
    Kind,
    MessageFacts,
    Push,
    cancel_reason,
    is_stale,
    live_kinds,
    plan,
    push_of,
)
from app.appointments.schemas import (
    AppointmentPublic,
    AppointmentWrite,
    ScheduleEntry,
)
from app.appointments.state import combined_state, reminder_state
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import Conflict, InvalidInput, NotFound
from app.messages.models import MessageStatus, message_table
from app.patients import service as patients_service
from app.patients.models import Patient
from app.recalls import service as recalls

_message = message_table.c


async def _patient_for(session: AsyncSession, clinic_id: uuid.UUID, patient_no: str) -> Patient:
    try:
        return await patients_service.get_patient(
            session, clinic_id=clinic_id, patient_no=patient_no
        )
    except NotFound as exc:
        raise InvalidInput.for_field(
            "patient_no", "no patient with this number: push the patient first", "unknown"
        ) from exc


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


def _apply(
    appointment: Appointment, data: AppointmentWrite, patient: Patient, now: datetime
) -> None:
    """Copy `data` onto the appointment; `updated_at` moves only when something changed."""
    values = {
        "patient_id": patient.id,
        "practitioner": data.practitioner,
        "start_at": data.start.astimezone(UTC),
        "end_at": data.end.astimezone(UTC),
        "status": data.status.value,
        "sms_reminders": data.sms_reminders,
    }
    changed = {name for name, value in values.items() if getattr(appointment, name) != value}
    booked_again = "status" in changed and data.status is AppointmentStatus.BOOKED
    for name in changed:
        setattr(appointment, name, values[name])
    if changed & {"start_at", "patient_id"}:
        appointment.rescheduled_at = now
    if changed & {"start_at", "patient_id"} or booked_again:
        # A confirmation was for the old time, patient or booking; the new one needs its own.
        appointment.confirmation = None
        appointment.confirmation_at = None
    if changed:
        appointment.updated_at = now


def _settled(decided: dict[str, Decided], push: Push, patient_changed: bool) -> set[str]:
    """Kinds decided for this start already: queued, or skipped for a reason about time
    (a skip about the recipient or the appointment's reminder switch is looked at again:
    the number may be there now, the reminders back on)."""
    return {
        kind
        for kind, row in decided.items()
        if row.start_at == push.start
        and (
            (row.outcome == DecisionOutcome.QUEUED and not patient_changed)
            or (row.outcome == DecisionOutcome.SKIPPED and row.skip_reason not in UNDOABLE_REASONS)
        )
    }


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
    composer = Composer(context)
    stale: dict[str | None, list[uuid.UUID]] = {}
    cancelled: set[uuid.UUID] = set()
    appointment_id = view.appointment.appointment_id
    for m in view.messages:
        if m.status == MessageStatus.PENDING and is_stale(m, push):
            if m.shared and await grouping.detach(session, composer, m.id, appointment_id):
                cancelled.add(m.id)  # for this appointment: the others keep it
            else:
                stale.setdefault(cancel_reason(m, push), []).append(m.id)
    for reason, ids in stale.items():
        cancelled |= await cancel_pending(session, ids, context.now, reason=reason)
    view.messages = [
        replace(m, status=MessageStatus.CANCELLED) if m.id in cancelled else m
        for m in view.messages
    ]
    cancelled_kinds = {m.type for m in view.messages if m.id in cancelled}
    redo = cancelled_kinds | again if push.status is AppointmentStatus.BOOKED else set()
    settled = _settled(view.decided, push, patient_changed) - redo
    live = live_kinds(view.messages, push)
    decisions = plan(push, context.rules, context.window, live=live, settled=settled, redo=redo)
    if decisions:
        await composer.load(session, decisions)
        decisions, rows = composer.compose(view.appointment, patient, decisions, automatic=True)
        view.messages += await grouping.store(session, composer, view.appointment, patient, rows)
        view.decided = await record_decisions(
            session, context, view.appointment, decisions, view.decided
        )
    # A cancelled appointment booked again (or a completed one completed again) gets its
    # messages anew; one a push cancelled and did not make again is no longer decided.
    withdrawn = cancelled_kinds - {decision.kind for decision in decisions}
    view.decided = await withdraw_decisions(session, view.decided, withdrawn, context.now)


async def upsert_appointment(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    appointment_id: str,
    data: AppointmentWrite,
    now: datetime,
) -> tuple[AppointmentView, bool]:
    """Create or replace the appointment and schedule its messages; whether it was created."""
    context = await load_context(session, clinic_id, now)
    patient = await _patient_for(session, clinic_id, data.patient_no)
    await recalls.follow_booking(
        session, patient_id=patient.id, status=data.status, start=data.start, now=now
    )
    appointment = await find_appointment(
        session, clinic_id=clinic_id, appointment_id=appointment_id, for_update=True
    )
    if appointment is None:
        view, push = await _create(session, clinic_id, appointment_id, data, patient, now)
        await schedule(session, context, view, patient, push, patient_changed=False)
        return view, True
    before = (appointment.start_at, appointment.patient_id, appointment.practitioner)
    reminders_were_on = appointment.sms_reminders
    previous_status = AppointmentStatus(appointment.status)
    _apply(appointment, data, patient, now)
    await _flush(session)
    push = push_of(
        appointment,
        previous_status,
        moved=before[:2] != (appointment.start_at, appointment.patient_id),
        retext=before[2] != appointment.practitioner,
        switched_off=reminders_were_on and not appointment.sms_reminders,
    )
    view = AppointmentView(appointment, patient.patient_no)
    await with_messages(session, clinic_id, [view])
    await schedule(session, context, view, patient, push, before[1] != patient.id)
    return view, False


async def _create(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    appointment_id: str,
    data: AppointmentWrite,
    patient: Patient,
    now: datetime,
) -> tuple[AppointmentView, Push]:
    appointment = Appointment(
        clinic_id=clinic_id,
        appointment_id=appointment_id,
        patient_id=patient.id,
        practitioner=data.practitioner,
        start_at=data.start.astimezone(UTC),
        end_at=data.end.astimezone(UTC),
        status=data.status.value,
        sms_reminders=data.sms_reminders,
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    await _flush(session)
    push = push_of(appointment, None)
    return AppointmentView(appointment, patient.patient_no), push


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another request created the same appointment between our read and write.
        raise Conflict(
            "This appointment was saved by another request at the same time; retry."
        ) from exc


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
