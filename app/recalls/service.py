"""Patients' recalls: the due date the practice system sets, what booking does to them, and
where each stands. When they go is decided by `planning`, and made by `sending`."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import AppointmentStatus
from app.appointments.scheduling import RECIPIENT_REASONS
from app.core.errors import InvalidInput
from app.core.pagination import decode_cursor, encode_cursor
from app.events.messages import record_message_status_events
from app.messages.models import MessageStatus, message_table
from app.patients.schemas import PatientWrite
from app.recalls import queries
from app.recalls.context import RecallContext, load_context
from app.recalls.models import Recall, RecallOutcome, recall_table
from app.recalls.planning import Candidate, next_send_at
from app.recalls.schemas import NO_RECALL, RecallPublic, RecallState, RecallStatus

HAS_APPOINTMENT = "has_appointment"
DUE_CHANGED = "recall_due_changed"
"""Why a waiting recall message was cancelled (its `failure_reason`)."""

_message = message_table.c
_WAITING = (MessageStatus.PENDING, MessageStatus.SENDING)


def _next_send_at(row: Row[Any], context: RecallContext) -> datetime | None:
    if row.outcome is not None or not context.sending:
        return None
    if row.message_status in _WAITING:
        return row.next_attempt_at  # type: ignore[no-any-return]
    candidate = Candidate(row.id, row.due_date, row.attempts, row.last_attempt_at)
    return next_send_at(candidate, context.timing, context.calendar)


def _status_fields(row: Row[Any], context: RecallContext) -> dict[str, Any]:
    return {
        "state": RecallState(row.state),
        "skip_reason": row.skip_reason,
        "due_date": row.due_date,
        "attempts": row.attempts,
        "next_send_at": _next_send_at(row, context),
        "message_id": row.message_id,
        "sent_at": row.sent_at,
        "delivered_at": row.delivered_at,
    }


async def patient_status(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient_id: uuid.UUID, now: datetime
) -> RecallStatus:
    row = await queries.status_row(session, clinic_id, patient_id)
    if row is None:
        return NO_RECALL
    context = await load_context(session, clinic_id, now)
    return RecallStatus(**_status_fields(row, context))


def _decode(cursor: str) -> tuple[date, uuid.UUID]:
    due, recall_id = decode_cursor(cursor, 2)
    try:
        return date.fromisoformat(due), uuid.UUID(recall_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.for_field("cursor", "not a cursor from this API", "bad_cursor") from exc


async def list_recalls(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    state: RecallState | None,
    due_before: date | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> tuple[list[RecallPublic], str | None]:
    """The clinic's recalls in due-date order, and the next page's cursor."""
    if state is RecallState.NONE:
        raise InvalidInput.for_field(
            "state", "patients without a recall due date have no recall to list", "not_listed"
        )
    after = _decode(cursor) if cursor is not None else None
    rows = await queries.status_page(
        session, clinic_id, state=state, due_before=due_before, after=after, limit=limit
    )
    context = await load_context(session, clinic_id, now)
    page = [
        RecallPublic(patient_no=row.patient_no, **_status_fields(row, context))
        for row in rows[:limit]
    ]
    if len(rows) <= limit:
        return page, None
    last = rows[limit - 1]
    return page, encode_cursor(last.due_date.isoformat(), str(last.id))


async def _recall_of(session: AsyncSession, patient_id: uuid.UUID) -> Recall | None:
    statement = select(Recall).where(recall_table.c.patient_id == patient_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def _cancel_waiting(
    session: AsyncSession, recall: Recall, reason: str, now: datetime
) -> bool:
    """Cancel the recall's message if it has not gone; tells the practice system."""
    if recall.message_id is None:
        return False
    statement = (
        update(message_table)
        .where(_message.id == recall.message_id, _message.status == MessageStatus.PENDING)
        .values(status=MessageStatus.CANCELLED, cancelled_at=now, failure_reason=reason)
        .returning(_message.id)
    )
    cancelled = list((await session.execute(statement)).scalars())
    await record_message_status_events(session, cancelled, now=now)
    return bool(cancelled)


def _start_over(recall: Recall, due_date: date, now: datetime) -> None:
    recall.due_date = due_date
    recall.attempts = 0
    recall.last_attempt_at = None
    recall.message_id = None
    recall.outcome = None
    recall.skip_reason = None
    recall.updated_at = now


async def follow_patient(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: PatientWrite,
    now: datetime,
) -> None:
    """A patient was saved. `recall_due`, when given, sets the due date: a new one starts
    the recall over, null clears it; either cancels a recall message not yet gone. A
    recall skipped for want of a number or consent is looked at again."""
    recall = await _recall_of(session, patient_id)
    if "recall_due" in data.model_fields_set:
        await _set_due(session, clinic_id, patient_id, recall, data.recall_due, now)
    elif recall is not None and _skipped_for_recipient(recall):
        _reopen(recall, now)


async def _set_due(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    recall: Recall | None,
    due: date | None,
    now: datetime,
) -> None:
    if due is None:
        if recall is not None:
            await _cancel_waiting(session, recall, DUE_CHANGED, now)
            await session.execute(delete(Recall).where(recall_table.c.id == recall.id))
    elif recall is None:
        recall = Recall(clinic_id=clinic_id, patient_id=patient_id, due_date=due)
        recall.created_at = recall.updated_at = now
        session.add(recall)
    elif recall.due_date != due:
        await _cancel_waiting(session, recall, DUE_CHANGED, now)
        _start_over(recall, due, now)
    elif _skipped_for_recipient(recall):
        _reopen(recall, now)


def _reopen(recall: Recall, now: datetime) -> None:
    recall.outcome, recall.skip_reason, recall.updated_at = None, None, now


def _skipped_for_recipient(recall: Recall) -> bool:
    return recall.outcome == RecallOutcome.SKIPPED and recall.skip_reason in RECIPIENT_REASONS


async def follow_booking(
    session: AsyncSession,
    *,
    patient_id: uuid.UUID,
    status: AppointmentStatus,
    start: datetime,
    now: datetime,
) -> None:
    """An appointment was pushed. Booked and ahead, it ends the patient's recall once a
    recall message was made: `booked` if one went, else `skipped` (`has_appointment`); the
    message not yet gone is cancelled. A recall not yet made is decided when its day comes."""
    if status is not AppointmentStatus.BOOKED or start <= now:
        return
    recall = await _recall_of(session, patient_id)
    if recall is None or recall.outcome is not None or recall.attempts == 0:
        return
    cancelled = await _cancel_waiting(session, recall, HAS_APPOINTMENT, now)
    if recall.attempts - int(cancelled) > 0:
        recall.outcome, recall.skip_reason = RecallOutcome.BOOKED, None
    else:
        recall.outcome, recall.skip_reason = RecallOutcome.SKIPPED, HAS_APPOINTMENT
    recall.updated_at = now
