"""Appointments pushed by the practice system, and the messages they schedule (§7).

An appointment change and everything it does to messages (cancelling the ones that no longer
fit, making new ones, recording what was decided and why) happen in the request's one
transaction: all of it commits, or none of it.
"""

import uuid
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.batch import Scheduling, schedule_many, upsert_many
from app.appointments.messaging import (
    AppointmentView,
    Context,
    Decided,
    day_rows,
    decided_of,
    messages_of,
    require_appointment,
    stored_patient,
)
from app.appointments.models import (
    DecisionOutcome,
)
from app.appointments.scheduling import (
    REMINDER_KINDS,
    Kind,
    MessageFacts,
    Push,
)
from app.appointments.schemas import (
    AppointmentList,
    AppointmentPublic,
    AppointmentWrite,
)
from app.appointments.state import current_state, reminder_state
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
    practitioner: str | None,
    now: datetime,
) -> AppointmentList:
    """The appointments starting on `day` in the clinic's time zone, by start time, each
    with its reminder state: read as rows and validated in one go, not a model each."""
    settings = await get_clinic_settings(session, clinic_id)
    rows = await day_rows(session, clinic_id, day, ZoneInfo(settings.time_zone), practitioner)
    ids = [row.appointment_id for row in rows]
    messages = await messages_of(session, clinic_id, ids)
    decided = await decided_of(session, clinic_id, ids)
    data = [
        _public(row, row.patient_no, messages[row.appointment_id], decided[row.appointment_id], now)
        for row in rows
    ]
    return AppointmentList.model_validate({"data": data})


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


# Plain values and a tuple: a day's list tests them thousands of times.
_KINDS = tuple(Kind)
_SKIPPED = DecisionOutcome.SKIPPED.value
_PENDING = MessageStatus.PENDING.value
_CANCELLED = MessageStatus.CANCELLED.value


def _current_skips(decided: dict[str, Decided], start: datetime) -> dict[str, str]:
    """The skip reasons of the kinds skipped for the appointment starting at `start`."""
    return {
        kind: row.skip_reason
        for kind, row in decided.items()
        if row.start_at == start and row.outcome == _SKIPPED and row.skip_reason
    }


def _entry(
    kind: Kind, current: list[MessageFacts], skip: str | None, start: datetime, now: datetime
) -> dict[str, Any]:
    """The kind's entry, from its messages for `start` that are not cancelled."""
    state, reason = current_state(current, start=start, now=now, skip_reason=skip)
    waiting = [m.next_attempt_at for m in current if m.status == _PENDING]
    sent = [m.sent_at for m in current if m.sent_at is not None]
    return {
        "kind": kind,
        "state": state,
        "reason": reason,
        "message_ids": [m.id for m in current],
        "scheduled_for": min(waiting, default=None),
        "sent_at": max(sent, default=None),
    }


class AppointmentFields(Protocol):
    """What the answer shows of an appointment: its table model, or a row of its columns."""

    @property
    def appointment_id(self) -> str: ...
    @property
    def practitioner(self) -> str: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def sms_reminders(self) -> bool: ...
    @property
    def confirmation(self) -> str | None: ...
    @property
    def confirmation_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def _public(
    appointment: AppointmentFields,
    patient_no: str,
    messages: list[MessageFacts],
    decided: dict[str, Decided],
    now: datetime,
) -> dict[str, Any]:
    """The fields of its `AppointmentPublic`, as they are validated into one: a day's list
    validates hundreds at once, each message looked at once."""
    start = appointment.start_at
    current: dict[str, list[MessageFacts]] = {}
    for message in messages:
        if message.appointment_start_at == start and message.status != _CANCELLED:
            current.setdefault(message.type, []).append(message)
    skips = _current_skips(decided, start)
    reminders = [message for kind in REMINDER_KINDS for message in current.get(kind, ())]
    state, reason = reminder_state(
        reminders,
        start=start,
        now=now,
        skip_reason=next((skips[kind] for kind in REMINDER_KINDS if kind in skips), None),
    )
    return {
        "appointment_id": appointment.appointment_id,
        "patient_no": patient_no,
        "practitioner": appointment.practitioner,
        "start": start,
        "end": appointment.end_at,
        "status": appointment.status,
        "sms_reminders": appointment.sms_reminders,
        "confirmation": appointment.confirmation or None,
        "confirmation_at": appointment.confirmation_at,
        "reminder_state": state,
        "reminder_skip_reason": reason,
        "schedule": [
            _entry(kind, current.get(kind, []), skips.get(kind), start, now)
            for kind in _KINDS
            if kind in current or kind in skips
        ],
        "created_at": appointment.created_at,
        "updated_at": appointment.updated_at,
    }


def to_public(view: AppointmentView, now: datetime) -> AppointmentPublic:
    fields = _public(view.appointment, view.patient_no, view.messages, view.decided, now)
    return AppointmentPublic.model_validate(fields)
