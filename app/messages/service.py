"""Creating, reading and cancelling messages. Composing is in `compose`, a bulk send in
`bulk`, listing in `listing`, sending in `dispatch`."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ReminderPolicy
from app.clinic_settings.service import get_clinic_settings
from app.core.db import bulk_insert
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.jobs import enqueue_after_commit
from app.core.phones import (
    InvalidPhoneNumber,
    parse_phone_number,
)
from app.messages.caps import keep_uncapped
from app.messages.compose import Content, merge_values, render, resolve_content
from app.messages.models import Message, MessageStatus, RecipientRole, message_table
from app.messages.outgoing import outgoing, over_the_cap, uncarriable
from app.messages.recipients import (
    CONSENT_REQUIRED_TYPES,
    Recipient,
    Skipped,
    numbers_of,
    patient_recipients,
)
from app.messages.rows import MessageRow, new_message_row, shared_columns
from app.messages.schemas import MessageContent, MessageCreate
from app.messages.wakeups import wake_ups
from app.optouts.service import blocked_numbers
from app.patients import service as patients_service
from app.patients.models import Patient, PatientView


async def store_messages(
    session: AsyncSession, rows: Sequence[MessageRow], *, now: datetime
) -> None:
    """Insert in one statement (COPY on PostgreSQL) and wake the worker for the send times
    due soon (the sweep wakes it for the others)."""
    if not rows:
        return
    await bulk_insert(session, message_table, rows)
    wake_worker(session, (row["next_attempt_at"] for row in rows), now=now)


def wake_worker(session: AsyncSession, send_times: Iterable[datetime], *, now: datetime) -> None:
    """After the commit, a wake-up of the worker for the send times due soon (the sweep
    wakes it for the others)."""
    for job in wake_ups(send_times, now):
        enqueue_after_commit(session, job)


def _bare_number_recipient(raw: str, country: str) -> Recipient:
    try:
        number = parse_phone_number(raw, country)
    except InvalidPhoneNumber as exc:
        raise InvalidInput.for_field("to", str(exc), exc.problem.value) from exc
    if not number.is_mobile:
        raise InvalidInput.for_field("to", "not a mobile number: it cannot take SMS", "not_mobile")
    return Recipient(RecipientRole.NUMBER, None, number.e164, None, True)


async def _require_sms_enabled(settings: ClinicSettings) -> None:
    if not settings.sms_enabled:
        raise Conflict("SMS is switched off for this clinic (settings: sms_enabled).")


async def create_message(
    session: AsyncSession, *, clinic_id: uuid.UUID, request: MessageCreate, now: datetime
) -> tuple[list[Message], list[Skipped]]:
    settings = await get_clinic_settings(session, clinic_id)
    await _require_sms_enabled(settings)
    content = await resolve_content(session, clinic_id, settings, request, now)
    patient: PatientView | None = None
    skipped: list[Skipped] = []
    if request.to is not None:
        recipients = [_bare_number_recipient(request.to, settings.country)]
        if await blocked_for(session, clinic_id, content, [recipients[0].number]):
            raise InvalidInput.for_field(
                "to", "this number answered STOPP: no marketing or offers go to it", "opted_out"
            )
    else:
        assert request.patient_no is not None
        patient = await _patient_for_request(session, clinic_id, request.patient_no)
        check_appointment_patient(content, [patient.id])
        recipients, skipped = patient_recipients(
            patient,
            message_type=content.type,
            policy=ReminderPolicy(settings.reminder_policy),
            include_guardians=guardians_included(request, settings),
            blocked=await blocked_for(session, clinic_id, content, numbers_of(patient)),
        )
        if not recipients:
            reasons = ", ".join(sorted({skip.reason for skip in skipped}))
            raise InvalidInput.for_field(
                "patient_no", f"no recipient can take this SMS ({reasons})", "no_recipient"
            )
    shared = shared_columns(clinic_id=clinic_id, settings=settings, content=content, now=now)
    rows: list[MessageRow] = []
    for recipient in recipients:  # a guardian's copy reads differently ([Mottaker], [du])
        sent = outgoing(
            render(content, merge_values(content, settings, patient, recipient)), settings
        )
        if sent.uncarriable:
            raise uncarriable(sent.uncarriable, content, settings)
        analysis = sent.encoded.analysis
        if analysis.segments > settings.max_segments:
            raise over_the_cap(analysis, settings)
        rows.append(
            new_message_row(
                shared,
                recipient=recipient,
                patient=patient,
                text=sent.encoded.text,
                analysis=analysis,
                price_per_segment=settings.price_per_segment,
            )
        )
    kept, held = await keep_uncapped(session, settings, content, rows, now=now)
    skipped += [
        Skipped(recipient, "cap_reached")
        for recipient, row in zip(recipients, rows, strict=True)
        if row["id"] in held
    ]
    rows = kept
    await store_messages(session, rows, now=now)
    position = {row["id"]: index for index, row in enumerate(rows)}
    statement = select(Message).where(message_table.c.id.in_(position))
    messages = (await session.execute(statement)).scalars().all()
    return sorted(messages, key=lambda message: position[message.id]), skipped


async def _patient_for_request(
    session: AsyncSession, clinic_id: uuid.UUID, patient_no: str
) -> Patient:
    try:
        return await patients_service.get_patient(
            session, clinic_id=clinic_id, patient_no=patient_no
        )
    except NotFound as exc:
        raise InvalidInput.for_field(
            "patient_no", "no patient with this number", "unknown"
        ) from exc


def check_appointment_patient(content: Content, patient_ids: Sequence[uuid.UUID]) -> None:
    """Never text one patient another patient's appointment time."""
    expected = content.appointment_patient_id
    if expected is not None and any(patient_id != expected for patient_id in patient_ids):
        raise InvalidInput.for_field(
            "appointment_id", "the appointment is another patient's", "other_patient"
        )


async def blocked_for(
    session: AsyncSession, clinic_id: uuid.UUID, content: Content, numbers: Iterable[str | None]
) -> frozenset[str]:
    """The numbers that answered STOPP, where this type of message cares (only then are
    `numbers` gone through: a bulk send's are 10,000 patients' and their guardians')."""
    if content.type not in CONSENT_REQUIRED_TYPES:
        return frozenset()
    return await blocked_numbers(session, clinic_id=clinic_id, numbers=list(numbers))


def guardians_included(request: MessageContent, settings: ClinicSettings) -> bool:
    if request.include_guardians is None:
        return settings.include_guardians
    return request.include_guardians


async def get_message(
    session: AsyncSession, *, clinic_id: uuid.UUID, message_id: uuid.UUID
) -> Message:
    message = await session.get(Message, message_id)
    if message is None or message.clinic_id != clinic_id:
        raise NotFound("No message with this id.")
    return message


_CANNOT_CANCEL = {
    MessageStatus.SENDING: "it is being handed to the provider right now",
    MessageStatus.SENT: "it has already been sent",
    MessageStatus.ANSWERED: "it has already been sent and answered",
    MessageStatus.FAILED: "it has already failed",
    MessageStatus.CANCELLED: "it is already cancelled",
}


async def cancel_message(
    session: AsyncSession, *, clinic_id: uuid.UUID, message_id: uuid.UUID, now: datetime
) -> Message:
    message = await get_message(session, clinic_id=clinic_id, message_id=message_id)
    # Guarded by status in the UPDATE itself: a worker may claim the row after our read.
    cancelled = await session.execute(
        update(message_table)
        .where(
            message_table.c.id == message_id,
            message_table.c.clinic_id == clinic_id,
            message_table.c.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.CANCELLED, cancelled_at=now)
    )
    await session.refresh(message)
    if cancelled.rowcount == 0:  # type: ignore[attr-defined]
        status = MessageStatus(message.status)
        raise Conflict(f"Only pending messages can be cancelled; {_CANNOT_CANCEL[status]}.")
    return message
