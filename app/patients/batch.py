"""Saving many patients at once, with the meaning of saving each on its own (§5).

The patients are read in one query and the new ones inserted in one statement; recalls
follow in one query and one statement per kind of change. A stored patient whose number,
consent or name changed is followed up as the single PUT does (pending messages
re-addressed, skipped reminders decided again, texts rendered again).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.clinic_settings.service import get_clinic_settings
from app.core.batch import BatchOutcome, BatchResult, parse_items
from app.core.db import in_batches
from app.core.errors import Conflict, FieldError, InvalidInput
from app.core.models import new_id, table_of
from app.patients.followups import Before, before_of, follow_change
from app.patients.models import Patient
from app.patients.schemas import PatientBatchItem, PatientWrite
from app.patients.service import patient_fields
from app.recalls import service as recalls

_patient = table_of(Patient)


async def _stored(
    session: AsyncSession, clinic_id: uuid.UUID, patient_nos: Sequence[str]
) -> dict[str, Patient]:
    found: dict[str, Patient] = {}
    for condition in in_batches(session, _patient.c.patient_no, patient_nos):
        statement = (
            select(Patient)
            .where(col(Patient.clinic_id) == clinic_id, condition)
            .order_by(col(Patient.id))  # one lock order: concurrent batches do not deadlock
            .with_for_update()
        )
        found.update((p.patient_no, p) for p in (await session.execute(statement)).scalars())
    return found


def _changed(patient: Patient, fields: dict[str, Any]) -> bool:
    return any(getattr(patient, name) != value for name, value in fields.items())


async def upsert_many(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    items: Sequence[tuple[str, PatientWrite]],
    now: datetime,
) -> list[BatchOutcome | list[FieldError]]:
    """Create or replace each patient (by number); per item, in order, the outcome or what
    is wrong with the item (`field` relative to the item). A number twice in one batch is
    refused the second time. A patient pushed as stored is left as it is (`unchanged`)."""
    settings = await get_clinic_settings(session, clinic_id)
    stored = await _stored(session, clinic_id, list({patient_no for patient_no, _ in items}))
    results: list[BatchOutcome | list[FieldError]] = []
    new_rows: list[dict[str, Any]] = []
    saved: list[tuple[uuid.UUID, PatientWrite]] = []
    changed: list[tuple[Patient, Before]] = []
    patient_ids: list[uuid.UUID | None] = []  # per item
    seen: set[str] = set()
    for patient_no, data in items:
        if patient_no in seen:
            reason = "this patient number is in the batch already"
            results.append([FieldError(field="patient_no", reason=reason, code="duplicate")])
            patient_ids.append(None)
            continue
        try:
            fields = patient_fields(patient_no, data, settings.country)
        except InvalidInput as exc:
            results.append(list(exc.errors))
            patient_ids.append(None)
            continue
        seen.add(patient_no)
        patient = stored.get(patient_no)
        given_before = patient is not None and patient.marketing_consent
        fields["marketing_consent"] = data.marketing_consent
        if data.marketing_consent != given_before:
            fields["marketing_consent_at"] = now if data.marketing_consent else None
        if patient is None:
            patient_id = new_id()
            row = {"marketing_consent_at": None, "opted_out_at": None} | fields
            row |= {"id": patient_id, "clinic_id": clinic_id, "patient_no": patient_no}
            new_rows.append(row | {"created_at": now, "updated_at": now})
            results.append(BatchOutcome.CREATED)
        elif _changed(patient, fields):
            patient_id = patient.id
            changed.append((patient, before_of(patient)))
            for name, value in fields.items():
                setattr(patient, name, value)
            patient.updated_at = now
            results.append(BatchOutcome.UPDATED)
        else:
            patient_id = patient.id
            results.append(BatchOutcome.UNCHANGED)
        patient_ids.append(patient_id)
        saved.append((patient_id, data))
    try:
        if new_rows:
            await session.execute(insert(_patient), new_rows)
        await session.flush()
    except IntegrityError as exc:
        # Another request created one of these patient numbers between our read and write.
        raise Conflict("A patient was saved by another request at the same time; retry.") from exc
    recall_changed = await recalls.follow_patients(
        session, clinic_id=clinic_id, saved=saved, now=now
    )
    results = [
        BatchOutcome.UPDATED
        if result is BatchOutcome.UNCHANGED and patient_id in recall_changed
        else result
        for result, patient_id in zip(results, patient_ids, strict=True)
    ]
    for patient, before in changed:
        await follow_change(
            session, clinic_id=clinic_id, patient=patient, before=before, now=now, settings=settings
        )
    return results


async def put_patients(
    session: AsyncSession, *, clinic_id: uuid.UUID, raw: Sequence[Any], now: datetime
) -> BatchResult:
    """`PUT /v1/patients`: the body's items read one by one, saved together, answered in
    order."""
    parsed = parse_items(PatientBatchItem, raw, "patients", "patient_no")
    outcomes = await upsert_many(
        session,
        clinic_id=clinic_id,
        items=[(patient_no, data) for _, patient_no, data in parsed.valid],
        now=now,
    )
    return parsed.answer(outcomes)
