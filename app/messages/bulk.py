"""`POST /v1/messages/bulk`: one text to many patients, each patient's outcome queued or
skipped (and why)."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.caps.notices import announce
from app.clinic_settings.schemas import ReminderPolicy
from app.clinic_settings.service import get_clinic_settings
from app.messages.caps import check_new_rows
from app.messages.compose import render, resolve_content, shared_merge_values, with_patient
from app.messages.outgoing import Outgoing, outgoing, shared_source_of, uncarriable
from app.messages.recipients import numbers_of, patient_recipients
from app.messages.rows import MessageRow, new_message_row, shared_columns
from app.messages.schemas import BulkMessageCreate, BulkOutcome, BulkResult, SkipReason
from app.messages.service import (
    blocked_for,
    check_appointment_patient,
    guardians_included,
    store_messages,
)
from app.patients import service as patients_service


def _skipped_outcome(patient_no: str, reason: SkipReason) -> BulkOutcome:
    return BulkOutcome(patient_no=patient_no, outcome="skipped", reason=reason)


def _without_held(outcome: BulkOutcome, held: set[uuid.UUID]) -> BulkOutcome:
    """A patient whose every message a cap holds back is skipped (`cap_reached`)."""
    if outcome.outcome != "queued":
        return outcome
    kept = [message_id for message_id in outcome.message_ids if message_id not in held]
    if kept:
        return outcome.model_copy(update={"message_ids": kept})
    return _skipped_outcome(outcome.patient_no, "cap_reached")


async def create_bulk(
    session: AsyncSession, *, clinic_id: uuid.UUID, request: BulkMessageCreate, now: datetime
) -> BulkResult:
    settings = await get_clinic_settings(session, clinic_id)
    if not settings.sms_enabled:
        disabled = [_skipped_outcome(no, "sms_disabled") for no in request.patient_nos]
        return BulkResult(queued=0, skipped=len(disabled), outcomes=disabled)
    content = await resolve_content(session, clinic_id, settings, request, now)
    patients = await patients_service.get_patients_by_number(
        session, clinic_id=clinic_id, patient_nos=request.patient_nos
    )
    check_appointment_patient(content, [patient.id for patient in patients.values()])
    policy = ReminderPolicy(settings.reminder_policy)
    include_guardians = guardians_included(request, settings)
    every_number = [number for patient in patients.values() for number in numbers_of(patient)]
    blocked = await blocked_for(session, clinic_id, content, every_number)
    shared_values = shared_merge_values(content, settings)
    shared_row = shared_columns(clinic_id=clinic_id, settings=settings, content=content, now=now)
    prepared: dict[str, Outgoing] = {}
    outcomes: list[BulkOutcome] = []
    rows: list[MessageRow] = []
    seen: set[str] = set()
    for patient_no in request.patient_nos:
        if patient_no in seen:
            outcomes.append(_skipped_outcome(patient_no, "duplicate"))
            continue
        seen.add(patient_no)
        patient = patients.get(patient_no)
        if patient is None:
            outcomes.append(_skipped_outcome(patient_no, "unknown_patient"))
            continue
        recipients, skipped = patient_recipients(
            patient,
            message_type=content.type,
            policy=policy,
            include_guardians=include_guardians,
            blocked=blocked,
        )
        if not recipients:
            outcomes.append(_skipped_outcome(patient_no, skipped[0].reason))
            continue
        texts = [
            render(content, with_patient(shared_values, patient, recipient))
            for recipient in recipients
        ]
        made = [
            prepared.get(text) or prepared.setdefault(text, outgoing(text, settings))
            for text in texts
        ]
        refused = next((sent.uncarriable for sent in made if sent.uncarriable), ())
        if refused:
            if shared_source_of(refused, content) is not None:
                raise uncarriable(refused, content, settings)
            outcomes.append(_skipped_outcome(patient_no, "unsupported_characters"))
            continue
        if any(sent.encoded.analysis.segments > settings.max_segments for sent in made):
            outcomes.append(_skipped_outcome(patient_no, "too_long"))
            continue
        batch = [
            new_message_row(
                shared_row,
                recipient=recipient,
                patient=patient,
                text=sent.encoded.text,
                analysis=sent.encoded.analysis,
                price_per_segment=settings.price_per_segment,
            )
            for recipient, sent in zip(recipients, made, strict=True)
        ]
        rows += batch
        outcomes.append(
            BulkOutcome(
                patient_no=patient_no, outcome="queued", message_ids=[row["id"] for row in batch]
            )
        )
    check = await check_new_rows(
        session, settings=settings, rows=rows, send_at=content.send_at, now=now
    )
    if held := check.held_ids(rows):
        rows = [row for row in rows if row["id"] not in held]
        outcomes = [_without_held(outcome, held) for outcome in outcomes]
        await announce(session, clinic_id, check.hits, now=now)
    await store_messages(session, rows, now=now)
    queued = sum(1 for outcome in outcomes if outcome.outcome == "queued")
    return BulkResult(queued=queued, skipped=len(outcomes) - queued, outcomes=outcomes)
