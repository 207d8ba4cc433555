"""`POST /v1/messages/bulk`: one text to many patients, each patient's outcome queued or
skipped (and why).

Up to 10,000 patients a call, in well under a second: the text is rendered once but for
the patient's own fields, each distinct text encoded and checked once, the rows are plain
dicts of each message's own columns beside the request's shared ones (inserted by
statements that send the shared ones once), and the answer is validated in one go. Where
no cap can hold a message back, the patients go in batches and PostgreSQL stores each
while the next is made; else every row is checked against the caps first.
"""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ReminderPolicy
from app.clinic_settings.service import get_clinic_settings
from app.core.inserts import SharingInserts, insert_sharing
from app.messages.caps import keep_uncapped, may_hold
from app.messages.compose import (
    Content,
    render,
    resolve_content,
    shared_merge_values,
    with_patient,
    with_shared_filled_in,
)
from app.messages.models import message_table
from app.messages.outgoing import Outgoing, outgoing, shared_source_of, uncarriable
from app.messages.recipients import numbers_of, patient_recipients
from app.messages.rows import MessageRow, ascending_ids, recipient_columns, shared_columns
from app.messages.schemas import BulkMessageCreate, BulkResult, SkipReason
from app.messages.service import (
    blocked_for,
    check_appointment_patient,
    guardians_included,
    wake_worker,
)
from app.patients import service as patients_service
from app.patients.models import PatientView

FIRST_BATCH = 250
BATCH = 2_000
"""Patients a batch, at most (the first batch is made before anything is stored)."""
Outcome = dict[str, Any]
"""A `BulkOutcome` as a plain dict: the answer is validated once, not 10,000 times."""


def _skipped(patient_no: str, reason: SkipReason) -> Outcome:
    return {"patient_no": patient_no, "outcome": "skipped", "reason": reason}


def _without_held(outcome: Outcome, held: set[uuid.UUID]) -> Outcome:
    """A patient whose every message a cap holds back is skipped (`cap_reached`)."""
    if outcome["outcome"] != "queued":
        return outcome
    kept = [message_id for message_id in outcome["message_ids"] if message_id not in held]
    if kept:
        return outcome | {"message_ids": kept}
    return _skipped(outcome["patient_no"], "cap_reached")


def _answer(outcomes: list[Outcome]) -> BulkResult:
    queued = sum(1 for outcome in outcomes if outcome["outcome"] == "queued")
    return BulkResult.model_validate(
        {"queued": queued, "skipped": len(outcomes) - queued, "outcomes": outcomes}
    )


@dataclass
class _Composer:
    """What one request's messages share, its patients, and the texts already encoded."""

    content: Content
    settings: ClinicSettings
    policy: ReminderPolicy
    include_guardians: bool
    blocked: frozenset[str]
    patients: dict[str, PatientView]
    seen: set[str] = field(default_factory=set)
    prepared: dict[str, Outgoing] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shared = shared_merge_values(self.content, self.settings)
        self.filled_in, self.left = with_shared_filled_in(self.content, shared)
        guardians = sum(len(patient.guardians) for patient in self.patients.values())
        most = len(self.patients) + (guardians if self.include_guardians else 0)
        self.ids = ascending_ids(most)  # one a message at most

    def outcome(self, patient_no: str, rows: list[MessageRow]) -> Outcome:
        """The patient's outcome; the rows of their messages go on `rows`."""
        if patient_no in self.seen:
            return _skipped(patient_no, "duplicate")
        self.seen.add(patient_no)
        patient = self.patients.get(patient_no)
        made = "unknown_patient" if patient is None else self.rows_for(patient)
        if isinstance(made, str):
            return _skipped(patient_no, made)
        rows += made
        ids = [row["id"] for row in made]
        return {"patient_no": patient_no, "outcome": "queued", "message_ids": ids}

    def rows_for(self, patient: PatientView) -> list[MessageRow] | SkipReason:
        """The patient's messages' own columns, or why the patient gets none."""
        recipients, skipped = patient_recipients(
            patient,
            message_type=self.content.type,
            policy=self.policy,
            include_guardians=self.include_guardians,
            blocked=self.blocked,
        )
        if not recipients:
            return skipped[0].reason
        texts = [
            render(self.filled_in, with_patient(self.left, patient, recipient))
            for recipient in recipients
        ]
        made = [self._outgoing(text) for text in texts]
        refused = next((sent.uncarriable for sent in made if sent.uncarriable), ())
        if refused:
            if shared_source_of(refused, self.content) is not None:
                raise uncarriable(refused, self.content, self.settings)
            return "unsupported_characters"
        if any(sent.encoded.analysis.segments > self.settings.max_segments for sent in made):
            return "too_long"
        return [
            recipient_columns(
                recipient=recipient,
                patient=patient,
                text=sent.encoded.text,
                analysis=sent.encoded.analysis,
                price_per_segment=self.settings.price_per_segment,
                message_id=next(self.ids),
            )
            for recipient, sent in zip(recipients, made, strict=True)
        ]

    def _outgoing(self, text: str) -> Outgoing:
        sent = self.prepared.get(text)
        if sent is None:
            sent = self.prepared[text] = outgoing(text, self.settings)
        return sent


async def create_bulk(
    session: AsyncSession, *, clinic_id: uuid.UUID, request: BulkMessageCreate, now: datetime
) -> BulkResult:
    settings = await get_clinic_settings(session, clinic_id)
    if not settings.sms_enabled:
        return _answer([_skipped(no, "sms_disabled") for no in request.patient_nos])
    content = await resolve_content(session, clinic_id, settings, request, now)
    patients = await patients_service.get_patients_by_number(
        session, clinic_id=clinic_id, patient_nos=request.patient_nos
    )
    check_appointment_patient(content, [patient.id for patient in patients.values()])
    every_number = (number for patient in patients.values() for number in numbers_of(patient))
    composer = _Composer(
        content,
        settings,
        ReminderPolicy(settings.reminder_policy),
        guardians_included(request, settings),
        await blocked_for(session, clinic_id, content, every_number),
        patients,
    )
    shared = shared_columns(clinic_id=clinic_id, settings=settings, content=content, now=now)
    if may_hold(settings, content.type, send_at=content.send_at, now=now):
        answer = await _checked_first(session, composer, shared, request.patient_nos, now=now)
    else:
        answer = await _in_batches(session, composer, shared, request.patient_nos)
    if answer.queued:
        wake_worker(session, [content.send_at], now=now)
    return answer


def _batches(patient_nos: Sequence[str]) -> Iterator[Sequence[str]]:
    """Batches that double from FIRST_BATCH up to BATCH patients: PostgreSQL starts on a
    small one at once, and each next one is made in less time than the one before takes
    to store."""
    start, size = 0, min(FIRST_BATCH, BATCH)
    while start < len(patient_nos):
        yield patient_nos[start : start + size]
        start, size = start + size, min(2 * size, BATCH)


async def _in_batches(
    session: AsyncSession, composer: _Composer, shared: MessageRow, patient_nos: Sequence[str]
) -> BulkResult:
    """Where no cap can hold a message back: each batch is stored while the next is made,
    and the answer validated while the last is."""
    outcomes: list[Outcome] = []
    async with SharingInserts(session, message_table, shared) as inserts:
        for batch in _batches(patient_nos):
            rows: list[MessageRow] = []
            outcomes += [composer.outcome(patient_no, rows) for patient_no in batch]
            await inserts.add(rows)
        return _answer(outcomes)


async def _checked_first(
    session: AsyncSession,
    composer: _Composer,
    shared: MessageRow,
    patient_nos: Sequence[str],
    *,
    now: datetime,
) -> BulkResult:
    """Else every row is checked against the caps before any is stored."""
    rows: list[MessageRow] = []
    outcomes = [composer.outcome(patient_no, rows) for patient_no in patient_nos]
    kept, held = await keep_uncapped(session, composer.settings, composer.content, rows, now=now)
    if held:
        outcomes = [_without_held(outcome, held) for outcome in outcomes]
    await insert_sharing(session, message_table, shared, kept)
    return _answer(outcomes)
