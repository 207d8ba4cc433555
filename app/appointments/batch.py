"""Saving many appointments at once, with the meaning of saving each on its own (§7).

The work is done per batch: the patients, the appointments, their messages and decisions
are read in one query each; new and changed appointments are written in one flush; stale
messages are cancelled, new ones stored and decisions recorded in one statement each. The
single PUT is a batch of one.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.appointments import grouping
from app.appointments.batch_grouping import Made, store_made
from app.appointments.composer import Composer
from app.appointments.messaging import (
    AppointmentView,
    Context,
    Decided,
    DecisionWrites,
    cancel_pending,
    decision_rows,
    hold_numbers,
    load_context,
    with_messages,
)
from app.appointments.models import (
    Appointment,
    AppointmentStatus,
    DecisionOutcome,
    appointment_table,
)
from app.appointments.models import appointment_reminder_table as decision_table
from app.appointments.scheduling import (
    UNDOABLE_REASONS,
    Decision,
    Push,
    cancel_reason,
    is_stale,
    live_kinds,
    plan,
    push_of,
)
from app.appointments.schemas import AppointmentWrite
from app.core.batch import BatchOutcome
from app.core.db import bulk_update, in_batches
from app.core.errors import Conflict, FieldError
from app.core.inserts import insert_new
from app.core.models import as_loaded, new_id, table_of
from app.messages.models import MessageStatus
from app.patients.models import Patient
from app.recalls import service as recalls

UNKNOWN_PATIENT = "no patient with this number: push the patient first"
_CANCEL_CHUNK = 500  # message ids per cancelling statement (SQLite's variable limit)
_APPOINTMENT_KEY = ("clinic_id", "appointment_id")
_SAVED_AT_ONCE = "This appointment was saved by another request at the same time; retry."


@dataclass
class Scheduling:
    """One appointment to schedule: as stored now, and what this push changed."""

    view: AppointmentView
    patient: Patient
    push: Push
    patient_changed: bool = False
    again: frozenset[str] = frozenset()
    """Kinds decided anew."""


@dataclass
class Saved:
    """An appointment of the batch as saved, and its outcome."""

    view: AppointmentView
    outcome: BatchOutcome
    scheduling: Scheduling = field(repr=False)


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


def _withdrawn(
    decided: dict[str, Decided], kinds: set[str], now: datetime, rows: list[dict[str, object]]
) -> dict[str, Decided]:
    """Mark these kinds' decisions withdrawn (their messages were cancelled by a push);
    the rows to update are added to `rows`."""
    withdrawn = {
        kind: replace(decided[kind], outcome=DecisionOutcome.WITHDRAWN.value)
        for kind in kinds
        if kind in decided and decided[kind].outcome == DecisionOutcome.QUEUED
    }
    rows += [
        {"id": row.id, "outcome": row.outcome, "decided_at": now} for row in withdrawn.values()
    ]
    return decided | withdrawn


async def _cancel_stale(
    session: AsyncSession, composer: Composer, items: Sequence[Scheduling], now: datetime
) -> dict[str, set[uuid.UUID]]:
    """Per appointment, the messages it no longer has: a shared one it is taken out of
    (the others keep it), any other cancelled."""
    stale: dict[str | None, list[uuid.UUID]] = {}
    detached: dict[str, set[uuid.UUID]] = {}
    for item in items:
        appointment_id = item.view.appointment.appointment_id
        for m in item.view.messages:
            if m.status != MessageStatus.PENDING or not is_stale(m, item.push):
                continue
            if m.shared and await grouping.detach(session, composer, m.id, appointment_id):
                detached.setdefault(appointment_id, set()).add(m.id)
            else:
                stale.setdefault(cancel_reason(m, item.push), []).append(m.id)
    cancelled: set[uuid.UUID] = set()
    for reason, ids in stale.items():
        for start in range(0, len(ids), _CANCEL_CHUNK):
            chunk = ids[start : start + _CANCEL_CHUNK]
            cancelled |= await cancel_pending(session, chunk, now, reason=reason)
    return {
        item.view.appointment.appointment_id: cancelled
        | detached.get(item.view.appointment.appointment_id, set())
        for item in items
    }


async def schedule_many(
    session: AsyncSession, context: Context, items: Sequence[Scheduling]
) -> None:
    """For each appointment: cancel what no longer fits, make what is missing, record every
    decision. All the appointments' messages are stored together."""
    now = context.now
    composer = Composer(context)
    gone = await _cancel_stale(session, composer, items, now)
    planned: list[tuple[Scheduling, list[Decision], set[str]]] = []
    for item in items:
        view, push = item.view, item.push
        cancelled = gone[view.appointment.appointment_id]
        view.messages = [
            m._replace(status=MessageStatus.CANCELLED) if m.id in cancelled else m
            for m in view.messages
        ]
        cancelled_kinds = {m.type for m in view.messages if m.id in cancelled}
        redo = cancelled_kinds | item.again if push.status is AppointmentStatus.BOOKED else set()
        settled = _settled(view.decided, push, item.patient_changed) - redo
        live = live_kinds(view.messages, push)
        decisions = plan(push, context.rules, context.window, live=live, settled=settled, redo=redo)
        planned.append((item, decisions, cancelled_kinds))
    await composer.load(session, [d for _, decisions, _ in planned for d in decisions])
    made: list[Made] = []
    writes = DecisionWrites()
    withdrawn_rows: list[dict[str, object]] = []
    for item, decisions, cancelled_kinds in planned:
        view = item.view
        if decisions:
            decisions, rows = composer.compose(
                view.appointment, item.patient, decisions, automatic=True
            )
            made.append((view.appointment, item.patient, rows))
            view.decided = decision_rows(writes, context, view.appointment, decisions, view.decided)
        # A cancelled appointment booked again (or a completed one completed again) gets its
        # messages anew; one a push cancelled and did not make again is no longer decided.
        withdrawn = cancelled_kinds - {decision.kind for decision in decisions}
        view.decided = _withdrawn(view.decided, withdrawn, now, withdrawn_rows)
    views = {item.view.appointment.appointment_id: item.view for item in items}
    for (appointment, _, _), facts in zip(
        made, await store_made(session, composer, made), strict=True
    ):
        views[appointment.appointment_id].messages += facts
    await writes.write(session)
    await bulk_update(session, decision_table, withdrawn_rows)


def _pushed_values(data: AppointmentWrite, patient: Patient) -> dict[str, Any]:
    """The appointment's columns a push sets."""
    return {
        "patient_id": patient.id,
        "practitioner": data.practitioner,
        "start_at": data.start.astimezone(UTC),
        "end_at": data.end.astimezone(UTC),
        "status": data.status.value,
        "sms_reminders": data.sms_reminders,
    }


def _apply(
    appointment: Appointment, data: AppointmentWrite, patient: Patient, now: datetime
) -> bool:
    """Copy `data` onto the appointment; `updated_at` moves only when something changed.
    Whether something did."""
    values = _pushed_values(data, patient)
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
    return bool(changed)


def _update(
    appointment: Appointment, data: AppointmentWrite, patient: Patient, now: datetime
) -> Saved:
    before = (appointment.start_at, appointment.patient_id, appointment.practitioner)
    reminders_were_on = appointment.sms_reminders
    previous_status = AppointmentStatus(appointment.status)
    changed = _apply(appointment, data, patient, now)
    push = push_of(
        appointment,
        previous_status,
        moved=before[:2] != (appointment.start_at, appointment.patient_id),
        retext=before[2] != appointment.practitioner,
        switched_off=reminders_were_on and not appointment.sms_reminders,
    )
    view = AppointmentView(appointment, patient.patient_no)
    outcome = BatchOutcome.UPDATED if changed else BatchOutcome.UNCHANGED
    return Saved(view, outcome, Scheduling(view, patient, push, before[1] != patient.id))


def _new_row(
    clinic_id: uuid.UUID,
    appointment_id: str,
    data: AppointmentWrite,
    patient: Patient,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "clinic_id": clinic_id,
        "appointment_id": appointment_id,
        **_pushed_values(data, patient),
        "confirmation": None,
        "confirmation_at": None,
        "rescheduled_at": None,
        "created_at": now,
        "updated_at": now,
    }


def _create(row: dict[str, Any], patient: Patient) -> Saved:
    """A new appointment, from the row `_save` inserts."""
    appointment = as_loaded(Appointment, row)
    view = AppointmentView(appointment, patient.patient_no)
    return Saved(view, BatchOutcome.CREATED, Scheduling(view, patient, push_of(appointment, None)))


async def _patients(
    session: AsyncSession, clinic_id: uuid.UUID, patient_nos: Sequence[str]
) -> dict[str, Patient]:
    found: dict[str, Patient] = {}
    for condition in in_batches(session, table_of(Patient).c.patient_no, patient_nos):
        statement = (
            select(Patient)
            .where(col(Patient.clinic_id) == clinic_id, condition)
            # The appointments' foreign keys would share-lock them one by one in the batch's
            # order; a patients batch locks them in id order. Both in id order: no deadlock.
            .order_by(col(Patient.id))
            .with_for_update(read=True, key_share=True)
        )
        found.update((p.patient_no, p) for p in (await session.execute(statement)).scalars())
    return found


async def _appointments(
    session: AsyncSession, clinic_id: uuid.UUID, appointment_ids: Sequence[str]
) -> dict[str, Appointment]:
    found: dict[str, Appointment] = {}
    for condition in in_batches(session, table_of(Appointment).c.appointment_id, appointment_ids):
        statement = (
            select(Appointment)
            .where(col(Appointment.clinic_id) == clinic_id, condition)
            .order_by(col(Appointment.appointment_id))  # one lock order: no deadlock
            .with_for_update()
        )
        rows = (await session.execute(statement)).scalars()
        found.update((a.appointment_id, a) for a in rows)
    return found


async def _save(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the new appointments in one statement (on PostgreSQL one `unnest` of arrays,
    not an INSERT per row), and flush the changed ones."""
    try:
        inserted = await insert_new(session, appointment_table, rows, unique=_APPOINTMENT_KEY)
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(_SAVED_AT_ONCE) from exc
    if len(inserted) < len(rows):
        # Another request created the same appointment between our read and write.
        raise Conflict(_SAVED_AT_ONCE)


async def upsert_many(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    items: Sequence[tuple[str, AppointmentWrite]],
    now: datetime,
) -> list[Saved | FieldError]:
    """Create or replace each appointment (by id) and schedule its messages; per item, in
    order, what was saved or why the item was refused (`field` relative to the item). An
    id twice in one batch is refused the second time."""
    if not items:
        return []
    context = await load_context(session, clinic_id, now)
    patients = await _patients(session, clinic_id, list({data.patient_no for _, data in items}))
    accepted: list[tuple[str, AppointmentWrite, Patient] | FieldError] = []
    seen: set[str] = set()
    for appointment_id, data in items:
        patient = patients.get(data.patient_no)
        if appointment_id in seen:
            accepted.append(
                FieldError(
                    field="appointment_id",
                    reason="this id is in the batch already",
                    code="duplicate",
                )
            )
        elif patient is None:
            accepted.append(FieldError(field="patient_no", reason=UNKNOWN_PATIENT, code="unknown"))
        else:
            seen.add(appointment_id)
            accepted.append((appointment_id, data, patient))
    valid = [item for item in accepted if not isinstance(item, FieldError)]
    if not valid:
        return [item for item in accepted if isinstance(item, FieldError)]
    await hold_numbers(session, clinic_id, [patient for *_, patient in valid])
    await recalls.follow_bookings(
        session,
        clinic_id,
        bookings=[(patient.id, data.status, data.start) for _, data, patient in valid],
        now=now,
    )
    stored = await _appointments(
        session, clinic_id, [appointment_id for appointment_id, *_ in valid]
    )
    results: list[Saved | FieldError] = []
    created: list[dict[str, Any]] = []
    for item in accepted:
        if isinstance(item, FieldError):
            results.append(item)
            continue
        appointment_id, data, patient = item
        appointment = stored.get(appointment_id)
        if appointment is None:
            created.append(_new_row(clinic_id, appointment_id, data, patient, now))
            saved = _create(created[-1], patient)
        else:
            saved = _update(appointment, data, patient, now)
        results.append(saved)
    await _save(session, created)
    saved_items = [result for result in results if isinstance(result, Saved)]
    stored_views = [
        saved.view for saved in saved_items if saved.outcome is not BatchOutcome.CREATED
    ]
    if stored_views:
        await with_messages(session, clinic_id, stored_views)
    await schedule_many(session, context, [saved.scheduling for saved in saved_items])
    return results
