"""Reading recalls: their state (from the row and its latest message), the candidates the
planner looks at, and who has a booked appointment ahead."""

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, literal, null, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import Appointment, AppointmentStatus
from app.caps.rules import CAP_REACHED
from app.core.db import in_batches
from app.core.models import table_of
from app.messages.models import DeliveryState, MessageStatus, message_table
from app.patients.models import PATIENT_VIEW_FIELDS, Patient
from app.recalls.context import RecallContext
from app.recalls.models import recall_table
from app.recalls.schemas import RecallState

patient_table = table_of(Patient)
appointment_table = table_of(Appointment)
_recall = recall_table.c
_message = message_table.c
_patient = patient_table.c

_SKIPPED = RecallState.SKIPPED.value

# The state and skip reason, first matching condition wins; past them all the latest message
# was cancelled by hand.
_STATES: list[tuple[ColumnElement[bool], Any, Any]] = [
    (_recall.outcome.is_not(None), _recall.outcome, _recall.skip_reason),
    (
        or_(
            _message.id.is_(None),
            _message.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]),
        ),
        RecallState.SCHEDULED.value,
        None,
    ),
    (
        or_(
            _message.status == MessageStatus.ANSWERED, _message.delivery == DeliveryState.DELIVERED
        ),
        RecallState.DELIVERED.value,
        None,
    ),
    (_message.delivery == DeliveryState.UNDELIVERED, _SKIPPED, "undelivered"),
    (_message.status == MessageStatus.SENT, RecallState.SENT.value, None),
    (_message.status == MessageStatus.FAILED, _SKIPPED, "failed"),
    (_message.failure_reason == CAP_REACHED, _SKIPPED, CAP_REACHED),
]


def _value(value: Any) -> Any:
    if value is None:
        return null()
    return literal(value) if isinstance(value, str) else value


state_column = case(*((c, _value(s)) for c, s, _ in _STATES), else_=literal(_SKIPPED))
reason_column = case(*((c, _value(r)) for c, _, r in _STATES), else_=literal("cancelled"))

_STATUS_COLUMNS = (
    _recall.id,
    _recall.due_date,
    _recall.attempts,
    _recall.last_attempt_at,
    _recall.message_id,
    _recall.outcome,
    _patient.patient_no,
    state_column.label("state"),
    reason_column.label("skip_reason"),
    _message.status.label("message_status"),
    _message.next_attempt_at,
    _message.sent_at,
    _message.delivered_at,
)


def _with_status() -> Select[Any]:
    joined = recall_table.join(patient_table, _patient.id == _recall.patient_id).outerjoin(
        message_table, _message.id == _recall.message_id
    )
    return select(*_STATUS_COLUMNS).select_from(joined)


async def status_row(
    session: AsyncSession, clinic_id: uuid.UUID, patient_id: uuid.UUID
) -> Row[Any] | None:
    statement = _with_status().where(
        _recall.clinic_id == clinic_id, _recall.patient_id == patient_id
    )
    row: Row[Any] | None = (await session.execute(statement)).one_or_none()
    return row


async def status_page(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    *,
    state: RecallState | None,
    due_before: date | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to `limit` + 1 rows in due-date order (then id), after the cursor's row."""
    statement = _with_status().where(_recall.clinic_id == clinic_id)
    if state is not None:
        statement = statement.where(state_column == state.value)
    if due_before is not None:
        statement = statement.where(_recall.due_date < due_before)
    if after is not None:
        statement = statement.where(tuple_(_recall.due_date, _recall.id) > tuple_(*after))
    statement = statement.order_by(_recall.due_date, _recall.id).limit(limit + 1)
    return list((await session.execute(statement)).all())


async def candidate_rows(
    session: AsyncSession, context: RecallContext, until: datetime, limit: int
) -> list[Row[Any]]:
    """The recalls that may go by `until`, earliest due first, with what sending reads of
    their patient (`id` is the patient's). A day's slack: planning decides exactly.

    Locked: a booking or a new due date pushed meanwhile waits for the planner and then
    sees its message (to cancel it), or the planner waits and then sees the booking."""
    timing = context.timing
    until_day = until.astimezone(context.calendar.tz).date()
    first_due = until_day + timedelta(days=timing.days_before_due + 1)
    repeat_from = until - timedelta(days=timing.repeat_after_days - 2)
    statement = (
        select(
            _recall.id.label("recall_id"),
            _recall.due_date,
            _recall.attempts,
            _recall.last_attempt_at,
            *(_patient[name] for name in PATIENT_VIEW_FIELDS),
        )
        .select_from(recall_table.join(patient_table, _patient.id == _recall.patient_id))
        .where(
            _recall.clinic_id == context.clinic_id,
            _recall.outcome.is_(None),
            _recall.attempts < timing.max_attempts,
            or_(
                and_(_recall.attempts == 0, _recall.due_date <= first_due),
                and_(_recall.attempts > 0, _recall.last_attempt_at <= repeat_from),
            ),
        )
        .order_by(_recall.due_date, _recall.id)
        .limit(limit)
        .with_for_update(of=recall_table)
    )
    return list((await session.execute(statement)).all())


async def made_per_day(session: AsyncSession, context: RecallContext) -> Counter[date]:
    """Recall attempts already made per local day, from today on: what the cap has used."""
    calendar = context.calendar
    start_of_today = datetime.combine(calendar.today, time(0), tzinfo=calendar.tz)
    statement = select(_recall.last_attempt_at).where(
        _recall.clinic_id == context.clinic_id, _recall.last_attempt_at >= start_of_today
    )
    moments = (await session.execute(statement)).scalars()
    return Counter(calendar.day_of(moment) for moment in moments)


async def with_booking_ahead(
    session: AsyncSession, clinic_id: uuid.UUID, patient_ids: Sequence[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    """Those of the patients with a booked appointment that has not started."""
    appointment = appointment_table.c
    found: set[uuid.UUID] = set()
    for condition in in_batches(session, appointment.patient_id, list(patient_ids)):
        statement = select(appointment.patient_id).where(
            appointment.clinic_id == clinic_id,
            appointment.status == AppointmentStatus.BOOKED,
            appointment.start_at > now,
            condition,
        )
        found |= set((await session.execute(statement)).scalars())
    return found
