"""Messages for appointments sent by hand: reminders 1-3 for one appointment, and
"today's patients", a day's appointments at once. Each gets its own outcome."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.appointments.composer import Composer
from app.appointments.messaging import (
    AppointmentView,
    Context,
    DecisionWrites,
    day_appointments,
    decision_rows,
    load_context,
    record_decisions,
    require_appointment,
    stored_patient,
    with_messages,
)
from app.appointments.models import (
    Appointment,
    AppointmentStatus,
)
from app.appointments.scheduling import (
    REMINDER_KINDS,
    Decision,
    Kind,
    Push,
    confirmation_timing,
    live_kinds,
    now_timing,
    reminder_timing,
)
from app.appointments.schemas import (
    DayOutcome,
    DayReminderRequest,
    DayResult,
    ReminderOutcome,
)
from app.core.db import in_batches
from app.core.errors import Conflict
from app.core.models import table_of
from app.messages.rows import MessageRow
from app.messages.service import store_messages
from app.messages.window import SendKind
from app.patients.models import Patient
from app.templates.defaults import TemplateType

DAY_MESSAGE_VALIDITY = timedelta(hours=24)


def _require_upcoming(appointment: Appointment, now: datetime) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(
            f"The appointment is {appointment.status}: reminders go only to booked appointments."
        )
    if appointment.start_at <= now:
        raise Conflict("The appointment has already started: it is too late for a reminder.")


async def add_reminders(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    appointment_id: str,
    numbers: Sequence[int],
    now: datetime,
) -> list[ReminderOutcome]:
    """Add reminders 1, 2 and/or 3 by hand: each at its rule's time (enabled or not), or at
    once if that has passed. One already made for this start time is a `duplicate`."""
    context = await load_context(session, clinic_id, now)
    appointment = await require_appointment(session, clinic_id, appointment_id, for_update=True)
    _require_upcoming(appointment, now)
    patient = await stored_patient(session, appointment)
    view = (await with_messages(session, clinic_id, [AppointmentView(appointment, "")]))[0]
    push = Push(
        AppointmentStatus.BOOKED, appointment.start_at, appointment.end_at, patient.id, None
    )
    live = live_kinds(view.messages, push)
    decisions: list[Decision] = []
    for number in sorted(set(numbers)):
        kind = REMINDER_KINDS[number - 1]
        if kind in live:
            decisions.append(Decision(kind, None, "duplicate"))
            continue
        reminder = context.rules.reminders[number - 1]
        timing = reminder_timing(appointment.start_at, reminder, context.window, by_hand=True)
        decisions.append(Decision.of(kind, timing))
    composer = Composer(context)
    await composer.load(session, decisions)
    decisions, rows = composer.compose(appointment, patient, decisions, automatic=False)
    await store_messages(session, rows, now=now)
    queued = [d for d in decisions if d.timing is not None]
    await record_decisions(session, context, appointment, queued, view.decided)
    return [_reminder_outcome(decision, rows) for decision in decisions]


def _reminder_outcome(decision: Decision, rows: Sequence[MessageRow]) -> ReminderOutcome:
    number = REMINDER_KINDS.index(Kind(decision.kind)) + 1
    if decision.timing is None:
        return ReminderOutcome(reminder=number, outcome="skipped", reason=decision.reason)
    ids = [row["id"] for row in rows if row["type"] == decision.kind]
    return ReminderOutcome(
        reminder=number,
        outcome="queued",
        message_ids=ids,
        scheduled_for=decision.timing.send_at,
    )


def _day_decision(view: AppointmentView, template_type: TemplateType, context: Context) -> Decision:
    appointment = view.appointment
    thank_you = template_type is TemplateType.THANK_YOU
    allowed = (
        (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)
        if thank_you
        else (AppointmentStatus.BOOKED,)
    )
    if appointment.status not in allowed:
        return Decision(template_type, None, "not_booked")
    push = Push(
        AppointmentStatus(appointment.status),
        appointment.start_at,
        appointment.end_at,
        appointment.patient_id,
        None,
    )
    if template_type in live_kinds(view.messages, push):
        return Decision(template_type, None, "duplicate")
    if thank_you:
        return Decision.of(template_type, now_timing(context.window, DAY_MESSAGE_VALIDITY))
    kind = SendKind.ANCHORED if template_type.value in REMINDER_KINDS else SendKind.FLEXIBLE
    return Decision.of(
        template_type, confirmation_timing(appointment.start_at, context.window, kind)
    )


async def remind_day(
    session: AsyncSession, *, clinic_id: uuid.UUID, request: DayReminderRequest, now: datetime
) -> DayResult:
    """Text a day's patients now, each appointment with its own outcome."""
    context = await load_context(session, clinic_id, now)
    views = await day_appointments(
        session, clinic_id, request.date, context.window.tz, None, lock=True
    )
    by_id = {view.appointment.appointment_id: view for view in views}
    wanted = list(dict.fromkeys(request.appointment_ids or by_id))
    chosen = [by_id[appointment_id] for appointment_id in wanted if appointment_id in by_id]
    await with_messages(session, clinic_id, chosen)
    patients = await _patients_by_id(
        session, clinic_id, [view.appointment.patient_id for view in chosen]
    )
    template_type = TemplateType(request.template_type)
    composer = Composer(context)
    writes = DecisionWrites()
    outcomes: list[DayOutcome] = []
    rows: list[MessageRow] = []
    for appointment_id in wanted:
        view = by_id.get(appointment_id)
        if view is None:
            outcomes.append(_unknown(appointment_id))
            continue
        decision = _day_decision(view, template_type, context)
        await composer.load(session, [decision])
        [decision], made = composer.compose(
            view.appointment, patients[view.appointment.patient_id], [decision], automatic=False
        )
        rows += made
        if decision.timing is not None:
            decision_rows(writes, context, view.appointment, [decision], view.decided)
        outcomes.append(_day_outcome(view, decision, made))
    await store_messages(session, rows, now=now)
    await writes.write(session)
    queued = sum(1 for outcome in outcomes if outcome.outcome == "queued")
    return DayResult(queued=queued, skipped=len(outcomes) - queued, outcomes=outcomes)


def _unknown(appointment_id: str) -> DayOutcome:
    """Not among the day's appointments (or another clinic's)."""
    return DayOutcome(
        appointment_id=appointment_id,
        patient_no=None,
        outcome="skipped",
        reason="unknown_appointment",
    )


def _day_outcome(
    view: AppointmentView, decision: Decision, rows: Sequence[MessageRow]
) -> DayOutcome:
    appointment_id = view.appointment.appointment_id
    if decision.timing is None:
        return DayOutcome(
            appointment_id=appointment_id,
            patient_no=view.patient_no,
            outcome="skipped",
            reason=decision.reason,
        )
    return DayOutcome(
        appointment_id=appointment_id,
        patient_no=view.patient_no,
        outcome="queued",
        message_ids=[row["id"] for row in rows],
    )


async def _patients_by_id(
    session: AsyncSession, clinic_id: uuid.UUID, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Patient]:
    wanted = list(dict.fromkeys(patient_ids))
    found: dict[uuid.UUID, Patient] = {}
    for condition in in_batches(session, table_of(Patient).c.id, wanted):
        statement = select(Patient).where(col(Patient.clinic_id) == clinic_id, condition)
        found |= {patient.id: patient for patient in (await session.execute(statement)).scalars()}
    return found
