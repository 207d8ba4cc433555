"""Patients' recalls: the due date the practice system sets, what booking does to them, and
where each stands. When they go is decided by `planning`, and made by `sending`."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import AppointmentStatus
from app.appointments.scheduling import RECIPIENT_REASONS
from app.core.db import bulk_insert, in_batches
from app.core.errors import InvalidInput
from app.core.models import new_id
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


async def _cancel_messages(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], reason: str, now: datetime
) -> set[uuid.UUID]:
    """Cancel the recall messages among these not yet gone; tells the practice system."""
    cancelled: list[uuid.UUID] = []
    for condition in in_batches(session, _message.id, message_ids) if message_ids else []:
        statement = (
            update(message_table)
            .where(condition, _message.status == MessageStatus.PENDING)
            .values(status=MessageStatus.CANCELLED, cancelled_at=now, failure_reason=reason)
            .returning(_message.id)
        )
        cancelled += (await session.execute(statement)).scalars()
    await record_message_status_events(session, cancelled, now=now)
    return set(cancelled)


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
    """A patient was saved: `follow_patients` for one."""
    await follow_patients(session, clinic_id=clinic_id, saved=[(patient_id, data)], now=now)


async def _locked_recalls(
    session: AsyncSession, clinic_id: uuid.UUID, patient_ids: Sequence[uuid.UUID]
) -> list[Recall]:
    """The clinic's recalls of these patients, locked in id order (two pushes for the same
    patients lock them in the same order)."""
    recalls: list[Recall] = []
    for condition in in_batches(session, recall_table.c.patient_id, patient_ids):
        statement = (
            select(Recall)
            .where(recall_table.c.clinic_id == clinic_id, condition)
            .order_by(recall_table.c.id)
            .with_for_update()
        )
        recalls += (await session.execute(statement)).scalars()
    return recalls


async def follow_patients(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    saved: Sequence[tuple[uuid.UUID, PatientWrite]],
    now: datetime,
) -> set[uuid.UUID]:
    """Patients were saved, each as (id, what was pushed). `recall_due`, when given, sets
    the due date: a new one starts the recall over, null clears it; either cancels a recall
    message not yet gone. A recall skipped for want of a number or consent is looked at
    again. Answers the patients whose recall changed."""
    locked = await _locked_recalls(session, clinic_id, [patient_id for patient_id, _ in saved])
    recalls = {recall.patient_id: recall for recall in locked}
    changes = _RecallChanges()
    for patient_id, data in saved:
        recall = recalls.get(patient_id)
        if "recall_due" in data.model_fields_set:
            _set_due(changes, clinic_id, patient_id, recall, data.recall_due, now)
        elif recall is not None and _skipped_for_recipient(recall):
            _reopen(recall, now)
            changes.changed.add(patient_id)
    await changes.write(session, now)
    return changes.changed


class _RecallChanges:
    """What saving patients does to recalls, written together."""

    def __init__(self) -> None:
        self.cancel: list[uuid.UUID] = []
        self.delete: list[uuid.UUID] = []
        self.add: list[dict[str, object]] = []
        """New recalls as plain rows: a batch of new patients adds a thousand."""
        self.changed: set[uuid.UUID] = set()

    def cancel_waiting(self, recall: Recall) -> None:
        if recall.message_id is not None:
            self.cancel.append(recall.message_id)

    async def write(self, session: AsyncSession, now: datetime) -> None:
        await _cancel_messages(session, self.cancel, DUE_CHANGED, now)
        for condition in in_batches(session, recall_table.c.id, self.delete) if self.delete else []:
            await session.execute(delete(Recall).where(condition))
        await bulk_insert(session, recall_table, self.add)


def _set_due(
    changes: _RecallChanges,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    recall: Recall | None,
    due: date | None,
    now: datetime,
) -> None:
    if due is None:
        if recall is not None:
            changes.cancel_waiting(recall)
            changes.delete.append(recall.id)
            changes.changed.add(patient_id)
    elif recall is None:
        changes.add.append(_new_recall(clinic_id, patient_id, due, now))
        changes.changed.add(patient_id)
    elif recall.due_date != due:
        changes.cancel_waiting(recall)
        _start_over(recall, due, now)
        changes.changed.add(patient_id)
    elif _skipped_for_recipient(recall):
        _reopen(recall, now)
        changes.changed.add(patient_id)


def _new_recall(
    clinic_id: uuid.UUID, patient_id: uuid.UUID, due: date, now: datetime
) -> dict[str, object]:
    return {
        "id": new_id(),
        "clinic_id": clinic_id,
        "patient_id": patient_id,
        "due_date": due,
        "attempts": 0,
        "last_attempt_at": None,
        "message_id": None,
        "outcome": None,
        "skip_reason": None,
        "created_at": now,
        "updated_at": now,
    }


def _reopen(recall: Recall, now: datetime) -> None:
    recall.outcome, recall.skip_reason, recall.updated_at = None, None, now


def _skipped_for_recipient(recall: Recall) -> bool:
    return recall.outcome == RecallOutcome.SKIPPED and recall.skip_reason in RECIPIENT_REASONS


async def follow_bookings(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    *,
    bookings: Sequence[tuple[uuid.UUID, AppointmentStatus, datetime]],
    now: datetime,
) -> None:
    """Appointments were pushed to the clinic, each as (patient id, status, start). One
    booked and ahead ends the patient's recall once a recall message was made: `booked` if
    one went, else `skipped` (`has_appointment`); the message not yet gone is cancelled. A
    recall not yet made is decided when its day comes."""
    patient_ids = list(
        dict.fromkeys(
            patient_id
            for patient_id, status, start in bookings
            if status is AppointmentStatus.BOOKED and start > now
        )
    )
    if not patient_ids:
        return
    recalls = await _locked_recalls(session, clinic_id, patient_ids)
    ending = [r for r in recalls if r.outcome is None and r.attempts > 0]
    waiting = [r.message_id for r in ending if r.message_id is not None]
    cancelled = await _cancel_messages(session, waiting, HAS_APPOINTMENT, now)
    for recall in ending:
        if recall.attempts - int(recall.message_id in cancelled) > 0:
            recall.outcome, recall.skip_reason = RecallOutcome.BOOKED, None
        else:
            recall.outcome, recall.skip_reason = RecallOutcome.SKIPPED, HAS_APPOINTMENT
        recall.updated_at = now
