"""What appointment scheduling shares: the request's context, the facts it reads (messages,
decisions), and recording the decisions. Making message rows is in `composer`."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, bindparam, false, select, true, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.appointments.lookup import find_appointment
from app.appointments.models import (
    Appointment,
    DecisionOutcome,
    appointment_reminder_table,
    appointment_table,
    message_appointment_table,
)
from app.appointments.scheduling import (
    KIND_VALUES,
    Decision,
    MessageFacts,
    Rules,
    Window,
)
from app.clinic_settings.models import ClinicSettings, clinic_settings_table
from app.clinic_settings.service import send_window_rules
from app.core.db import bulk_insert, bulk_update, in_batches
from app.core.errors import NotFound
from app.core.locks import hold, lock_key
from app.core.models import as_loaded, new_id, table_of
from app.events.messages import record_message_status_events
from app.messages.models import MessageStatus, message_table
from app.messages.recipients import numbers_of
from app.patients.models import Patient
from app.reminder_rules.models import ReminderRules
from app.reminder_rules.service import reminders_of

_message = message_table.c
_decision = appointment_reminder_table.c
_link = message_appointment_table.c
_rules_table = table_of(ReminderRules)
# Everything scheduling reads of the settings: not the provider's credentials (it sends
# nothing), which would be decrypted on every push.
_SETTINGS_COLUMNS = [c for c in clinic_settings_table.c if c.name != "provider_credentials"]
_RULES_COLUMNS = [c.label(f"rules_{c.name}") for c in _rules_table.c]
_CONTEXT = (
    select(*_SETTINGS_COLUMNS, *_RULES_COLUMNS)
    .outerjoin(_rules_table, _rules_table.c.clinic_id == clinic_settings_table.c.clinic_id)
    .where(clinic_settings_table.c.clinic_id == bindparam("clinic_id"))
)


@dataclass(frozen=True, slots=True)
class Decided:
    """A stored `appointment_reminder` row."""

    id: uuid.UUID
    kind: str
    start_at: datetime
    outcome: str
    skip_reason: str | None


@dataclass
class AppointmentView:
    """An appointment with what its reminder state is computed from."""

    appointment: Appointment
    patient_no: str
    messages: list[MessageFacts] = field(default_factory=list)
    decided: dict[str, Decided] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Context:
    """What one request's scheduling reads once: settings, rules, the send window."""

    clinic_id: uuid.UUID
    settings: ClinicSettings
    """Without `provider_credentials`: scheduling sends nothing."""
    rules: Rules
    window: Window

    @property
    def now(self) -> datetime:
        return self.window.now


async def load_context(session: AsyncSession, clinic_id: uuid.UUID, now: datetime) -> Context:
    """Settings and rules in one prebuilt Core query: every push reads both."""
    found = await session.execute(_CONTEXT, {"clinic_id": clinic_id})
    row = found.mappings().one_or_none()
    if row is None:
        raise NotFound("This clinic has no settings.")
    settings = as_loaded(ClinicSettings, {c.name: row[c.name] for c in _SETTINGS_COLUMNS})
    stored = (
        as_loaded(ReminderRules, {c.name: row[f"rules_{c.name}"] for c in _rules_table.c})
        if row["rules_clinic_id"] is not None
        else ReminderRules(clinic_id=clinic_id)
    )
    rules = Rules(
        reminders=reminders_of(stored),
        booking_confirmation=stored.booking_confirmation,
        cancellation_confirmation=stored.cancellation_confirmation,
        thank_you=stored.thank_you_enabled,
        thank_you_hours_after=stored.thank_you_hours_after,
    )
    window = Window(send_window_rules(settings), ZoneInfo(settings.time_zone), now)
    return Context(clinic_id, settings, rules, window)


async def messages_of(
    session: AsyncSession, clinic_id: uuid.UUID, appointment_ids: Sequence[str]
) -> dict[str, list[MessageFacts]]:
    """Each appointment's messages: its own, and those it shares with other appointments
    (as that appointment's own start and patient, from `message_appointment`)."""
    found: dict[str, list[MessageFacts]] = {
        appointment_id: [] for appointment_id in appointment_ids
    }
    shared = select(_link.message_id).where(_link.message_id == _message.id).exists()
    own_batches = in_batches(session, _message.appointment_id, appointment_ids)
    linked_batches = in_batches(session, _link.appointment_id, appointment_ids)
    for own, linked in zip(own_batches, linked_batches, strict=True):
        # One statement for both: a day's list reads hundreds of appointments.
        statement = union_all(
            select(
                _message.appointment_id,
                _message.id,
                _message.type,
                _message.status,
                _message.delivery,
                _message.patient_id,
                _message.appointment_start_at,
                _message.next_attempt_at,
                _message.sent_at,
                false().label("shared"),
            ).where(_message.clinic_id == clinic_id, own, ~shared),
            select(
                _link.appointment_id,
                _message.id,
                _message.type,
                _message.status,
                _message.delivery,
                _link.patient_id,
                _link.appointment_start_at,
                _message.next_attempt_at,
                _message.sent_at,
                true(),
            )
            .join(message_table, _message.id == _link.message_id)
            .where(_link.clinic_id == clinic_id, linked),
        )
        for row in (await session.execute(statement)).all():
            found[row[0]].append(MessageFacts._make(row[1:]))
    return found


async def decided_of(
    session: AsyncSession, clinic_id: uuid.UUID, appointment_ids: Sequence[str]
) -> dict[str, dict[str, Decided]]:
    found: dict[str, dict[str, Decided]] = {
        appointment_id: {} for appointment_id in appointment_ids
    }
    for condition in in_batches(session, _decision.appointment_id, appointment_ids):
        statement = select(
            _decision.appointment_id,
            _decision.id,
            _decision.kind,
            _decision.start_at,
            _decision.outcome,
            _decision.skip_reason,
        ).where(_decision.clinic_id == clinic_id, condition)
        for appointment_id, *row in await session.execute(statement):
            decided = Decided(*row)
            found[appointment_id][decided.kind] = decided
    return found


NUMBER_LOCKS_AT_MOST = 64
"""A push's own lock per number, up to this many; past it, one lock for the clinic."""


async def hold_numbers(
    session: AsyncSession, clinic_id: uuid.UUID, patients: Sequence[Patient]
) -> None:
    """Before any appointment or message is locked or read: pushes that may message the
    same numbers (a shared reminder for a person's day) queue here, in one order, rather
    than each miss the other's new message or lock rows in turn. A push of a few numbers
    holds each of them under a shared hold of the clinic; one of more holds the clinic
    alone, and the clinic's other pushes wait for it."""
    numbers = {number for patient in patients for number in numbers_of(patient) if number}
    clinic = lock_key("numbers", clinic_id)
    if len(numbers) > NUMBER_LOCKS_AT_MOST:
        await hold(session, [clinic])
    else:
        keys = [lock_key("number", clinic_id, number) for number in numbers]
        await hold(session, keys, under=clinic)


async def stored_patient(session: AsyncSession, appointment: Appointment) -> Patient:
    patient = await session.get(Patient, appointment.patient_id)
    assert patient is not None  # the foreign key cascades: no appointment outlives its patient
    return patient


async def require_appointment(
    session: AsyncSession, clinic_id: uuid.UUID, appointment_id: str, *, for_update: bool = False
) -> Appointment:
    appointment = await find_appointment(
        session, clinic_id=clinic_id, appointment_id=appointment_id, for_update=for_update
    )
    if appointment is None:
        raise NotFound("No appointment with this id.")
    return appointment


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as a UTC interval; 23 or 25 hours long on DST days."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def _on_day(
    statement: Select[Any],
    clinic_id: uuid.UUID,
    day: date,
    tz: ZoneInfo,
    practitioner: str | None,
) -> Select[Any]:
    """`statement` (of appointments) narrowed to the day's, by start time, with each one's
    patient number last."""
    first, last = day_bounds(day, tz)
    # A lookup per appointment, not a join: a day is a few hundred of a clinic's tens of
    # thousands of patients, and the join's plan was a hash over every patient (4 ms).
    patient_no = (
        select(col(Patient.patient_no))
        .where(col(Patient.id) == col(Appointment.patient_id))
        .scalar_subquery()
        .label("patient_no")
    )
    statement = (
        statement.add_columns(patient_no)
        .where(
            col(Appointment.clinic_id) == clinic_id,
            col(Appointment.start_at) >= first,
            col(Appointment.start_at) < last,
        )
        .order_by(col(Appointment.start_at), col(Appointment.appointment_id))
    )
    if practitioner is not None:
        statement = statement.where(col(Appointment.practitioner) == practitioner)
    return statement


async def day_appointments(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    day: date,
    tz: ZoneInfo,
    practitioner: str | None,
    *,
    lock: bool = False,
) -> list[AppointmentView]:
    """The day's appointments by start time; with `lock`, held until the transaction ends
    (a second "remind today's patients" waits, then sees the first one's messages)."""
    statement = _on_day(select(Appointment), clinic_id, day, tz, practitioner)
    if lock:
        statement = statement.with_for_update(of=Appointment).execution_options(
            populate_existing=True
        )
    rows = (await session.execute(statement)).all()
    return [AppointmentView(appointment, patient_no) for appointment, patient_no in rows]


async def day_rows(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    day: date,
    tz: ZoneInfo,
    practitioner: str | None,
) -> Sequence[Row[Any]]:
    """The day's appointments as rows of their columns and `patient_no`, by start time: for
    reading only, without a table model per appointment (a day's list is hundreds)."""
    statement = _on_day(select(*appointment_table.c), clinic_id, day, tz, practitioner)
    rows: Sequence[Row[Any]] = (await session.execute(statement)).all()
    return rows


async def with_messages(
    session: AsyncSession, clinic_id: uuid.UUID, views: list[AppointmentView]
) -> list[AppointmentView]:
    ids = [view.appointment.appointment_id for view in views]
    messages = await messages_of(session, clinic_id, ids)
    decided = await decided_of(session, clinic_id, ids)
    for view in views:
        view.messages = messages[view.appointment.appointment_id]
        view.decided = decided[view.appointment.appointment_id]
    return views


@dataclass
class DecisionWrites:
    """`appointment_reminder` rows to insert and update, written in one statement each."""

    inserts: list[dict[str, object]] = field(default_factory=list)
    updates: list[dict[str, object]] = field(default_factory=list)

    async def write(self, session: AsyncSession) -> None:
        await bulk_insert(session, appointment_reminder_table, self.inserts)
        await bulk_update(session, appointment_reminder_table, self.updates)


async def record_decisions(
    session: AsyncSession,
    context: Context,
    appointment: Appointment,
    decisions: Sequence[Decision],
    decided: dict[str, Decided],
) -> dict[str, Decided]:
    writes = DecisionWrites()
    result = decision_rows(writes, context, appointment, decisions, decided)
    await writes.write(session)
    return result


def decision_rows(
    writes: DecisionWrites,
    context: Context,
    appointment: Appointment,
    decisions: Sequence[Decision],
    decided: dict[str, Decided],
) -> dict[str, Decided]:
    """Each decision as its kind's row for the appointment's current start."""
    result = dict(decided)
    for decision in decisions:
        if decision.kind not in KIND_VALUES:
            continue
        outcome = DecisionOutcome.SKIPPED if decision.timing is None else DecisionOutcome.QUEUED
        old = decided.get(decision.kind)
        new = Decided(
            old.id if old else new_id(),
            decision.kind,
            appointment.start_at,
            outcome.value,
            decision.reason,
        )
        result[decision.kind] = new
        values = {
            "id": new.id,
            "start_at": new.start_at,
            "outcome": new.outcome,
            "skip_reason": new.skip_reason,
            "decided_at": context.now,
        }
        if old is None:
            writes.inserts.append(
                values
                | {
                    "clinic_id": context.clinic_id,
                    "appointment_id": appointment.appointment_id,
                    "kind": decision.kind,
                }
            )
        elif old != new:
            writes.updates.append(values)
    return result


async def cancel_pending(
    session: AsyncSession,
    message_ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    reason: str | None = None,
) -> set[uuid.UUID]:
    """Cancel those still pending (the worker may have claimed one meanwhile). With a reason
    (kept as the failure reason) the practice system hears of each."""
    if not message_ids:
        return set()
    statement = (
        update(message_table)
        .where(_message.id.in_(message_ids), _message.status == MessageStatus.PENDING)
        .values(status=MessageStatus.CANCELLED, cancelled_at=now, failure_reason=reason)
        .returning(_message.id)
    )
    cancelled = list((await session.execute(statement)).scalars())
    if reason is not None:
        await record_message_status_events(session, cancelled, now=now)
    return set(cancelled)
