"""Creating, listing and cancelling messages. Sending is in `dispatch`."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.lookup import appointment_merge_values, find_appointment
from app.appointments.models import Appointment, AppointmentStatus
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ReminderPolicy
from app.clinic_settings.service import get_clinic_settings, send_window_rules
from app.core.db import bulk_insert
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.jobs import enqueue_after_commit
from app.core.pagination import decode_time_cursor, encode_time_cursor
from app.core.phones import (
    InvalidPhoneNumber,
    format_for_display,
    number_filter,
    parse_phone_number,
)
from app.messages.models import Message, MessageStatus, RecipientRole, message_table
from app.messages.recipients import Recipient, Skipped, patient_recipients
from app.messages.schemas import (
    BulkMessageCreate,
    BulkOutcome,
    BulkResult,
    MessageContent,
    MessageCreate,
    SkipReason,
)
from app.messages.wakeups import dispatch_job
from app.messages.window import Expired, SendKind, compute_send_time
from app.patients import service as patients_service
from app.patients.models import Patient, PatientView
from app.sms.service import money
from app.sms.text import TextAnalysis, analyze
from app.templates import service as templates_service
from app.templates.defaults import TemplateType
from app.templates.merge import KNOWN_FIELDS, ParsedTemplate, TemplateSyntaxError, parse

FREE_TEXT_TYPE = "free_text"
DEFAULT_VALIDITY = timedelta(hours=24)
LONGEST_SCHEDULE = timedelta(days=365)
# Tied to an upcoming appointment: when paused, these move earlier rather than later.
ANCHORED_TYPES = frozenset(
    {
        TemplateType.REMINDER_1,
        TemplateType.REMINDER_2,
        TemplateType.REMINDER_3,
        TemplateType.BOOKING_CONFIRMATION,
    }
)


@dataclass(frozen=True, slots=True)
class Content:
    """What every recipient of one request shares: text source, reply flag and timing."""

    type: str
    template: ParsedTemplate
    allow_reply: bool
    send_after: datetime
    expires_at: datetime
    send_at: datetime
    kind: SendKind
    request: MessageContent
    appointment_start_at: datetime | None = None
    appointment_patient_id: uuid.UUID | None = None


async def _template_source(
    session: AsyncSession, clinic_id: uuid.UUID, request: MessageContent, now: datetime
) -> tuple[str, str, bool]:
    if request.template_type is None:
        assert request.text is not None
        return FREE_TEXT_TYPE, request.text, bool(request.allow_reply)
    template = await templates_service.get_template(
        session, clinic_id=clinic_id, template_type=request.template_type, now=now
    )
    allow_reply = template.allow_reply if request.allow_reply is None else request.allow_reply
    return request.template_type.value, template.text, allow_reply


def _check_merge_values(request: MessageContent) -> None:
    for key in request.merge_values:
        if key not in KNOWN_FIELDS:
            raise InvalidInput.for_field(
                f"merge_values.{key}",
                f"unknown merge field; known fields: {', '.join(KNOWN_FIELDS)}",
                "unknown_field",
            )


def _timing(
    request: MessageContent, message_type: str, settings: ClinicSettings, now: datetime
) -> tuple[datetime, datetime, datetime, SendKind]:
    """(send_after, expires_at, send time with pauses applied, kind).

    Without an explicit expiry a message stays valid for 24 h from when the pauses let it
    go, so a message asked for on a Saturday goes on Monday morning rather than expiring.
    """
    send_after = request.send_after or now
    if send_after > now + LONGEST_SCHEDULE:
        raise InvalidInput.for_field("send_after", "more than a year ahead", "too_far_ahead")
    if request.expires_at is not None and request.expires_at <= send_after:
        raise InvalidInput.for_field("expires_at", "must be after send_after", "before_send_after")
    anchored = message_type in ANCHORED_TYPES and request.appointment_id is not None
    kind = SendKind.ANCHORED if anchored else SendKind.FLEXIBLE
    decision = compute_send_time(
        due=send_after,
        expires_at=request.expires_at or max(send_after, now) + LONGEST_SCHEDULE,
        kind=kind,
        rules=send_window_rules(settings),
        tz=ZoneInfo(settings.time_zone),
        now=now,
    )
    if isinstance(decision, Expired):
        raise InvalidInput.for_field(
            "expires_at",
            "the clinic's pause rules leave no time to send before expires_at",
            "no_send_window",
        )
    expires_at = request.expires_at or decision.at + DEFAULT_VALIDITY
    return send_after, expires_at, decision.at, kind


async def _resolve_content(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    settings: ClinicSettings,
    request: MessageContent,
    now: datetime,
) -> Content:
    message_type, template_text, allow_reply = await _template_source(
        session, clinic_id, request, now
    )
    try:
        template = parse(template_text)
    except TemplateSyntaxError as exc:
        raise templates_service.syntax_error(exc, field="text") from exc
    _check_merge_values(request)
    request, appointment = await _with_appointment(session, clinic_id, settings, request, now)
    send_after, expires_at, send_at, kind = _timing(request, message_type, settings, now)
    return Content(
        message_type,
        template,
        allow_reply,
        send_after,
        expires_at,
        send_at,
        kind,
        request,
        appointment.start_at if appointment else None,
        appointment.patient_id if appointment else None,
    )


async def _with_appointment(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    settings: ClinicSettings,
    request: MessageContent,
    now: datetime,
) -> tuple[MessageContent, Appointment | None]:
    """A stored appointment fills in [Tidspunkt], the practitioner and (when it is still ahead)
    the expiry, where the caller left them out."""
    if request.appointment_id is None:
        return request, None
    # Locked like an upsert locks it: a move committing meanwhile is either seen here or
    # sees this message (and re-times it), never neither.
    appointment = await find_appointment(
        session, clinic_id=clinic_id, appointment_id=request.appointment_id, for_update=True
    )
    if appointment is None:
        return request, None
    if request.template_type in ANCHORED_TYPES:
        if appointment.status != AppointmentStatus.BOOKED:
            raise Conflict(f"The appointment is {appointment.status}: no reminder for it.")
        if appointment.start_at <= now:
            raise Conflict("The appointment has already started: no reminder for it.")
    tz = ZoneInfo(settings.time_zone)
    changes: dict[str, Any] = {
        "merge_values": {"Tidspunkt": appointment_merge_values(appointment, tz)["Tidspunkt"]}
        | request.merge_values,
        "practitioner": request.practitioner or appointment.practitioner,
    }
    if request.expires_at is None and appointment.start_at > (request.send_after or now):
        changes["expires_at"] = appointment.start_at
    return request.model_copy(update=changes), appointment


def _shared_merge_values(content: Content, settings: ClinicSettings) -> dict[str, str]:
    """The merge values every recipient of one request shares, the request's own last."""
    values: dict[str, str] = {}
    if settings.business_phone:
        values["Businessphone"] = format_for_display(settings.business_phone, settings.country)
    if content.request.practitioner:
        values["Behandler"] = content.request.practitioner
    return values | content.request.merge_values


def _with_patient(shared: dict[str, str], patient: PatientView | None) -> dict[str, str]:
    if patient is None:
        return shared
    return {"Fornavn": patient.first_name, "Etternavn": patient.last_name} | shared


def _merge_values(
    content: Content, settings: ClinicSettings, patient: PatientView | None
) -> dict[str, str]:
    return _with_patient(_shared_merge_values(content, settings), patient)


def _render(content: Content, values: dict[str, str]) -> str:
    try:
        return content.template.render(values)
    except TemplateSyntaxError as exc:
        field = "text" if content.request.text is not None else "template_type"
        raise templates_service.syntax_error(exc, field=field) from exc


def _over_the_cap(analysis: TextAnalysis, settings: ClinicSettings) -> InvalidInput:
    reason = (
        f"the text is {analysis.segments} segments ({analysis.length} "
        f"{'septets' if analysis.encoding == 'GSM-7' else 'UTF-16 units'}, {analysis.encoding}); "
        f"this clinic allows at most {settings.max_segments}"
    )
    return InvalidInput(
        reason,
        errors=[InvalidInput.for_field("text", reason, "too_many_segments").errors[0]],
        extra={
            "segments": analysis.segments,
            "max_segments": settings.max_segments,
            "length": analysis.length,
            "encoding": analysis.encoding,
        },
    )


MessageRow = dict[str, Any]


@lru_cache(maxsize=256)
def _cost(segments: int, price_per_segment: Decimal) -> Decimal:
    return money(segments * Decimal(price_per_segment))


def _shared_row(
    *, clinic_id: uuid.UUID, settings: ClinicSettings, content: Content, now: datetime
) -> MessageRow:
    """The columns every message of one request has in common."""
    return {
        "clinic_id": clinic_id,
        "type": content.type,
        "appointment_id": content.request.appointment_id,
        "appointment_start_at": content.appointment_start_at,
        "practitioner": content.request.practitioner,
        "allow_reply": content.allow_reply,
        "currency": settings.currency,
        "status": MessageStatus.PENDING.value,
        "send_kind": content.kind.value,
        "send_after": content.send_after,
        "next_attempt_at": content.send_at,
        "expires_at": content.expires_at,
        "attempts": 0,
        "created_at": now,
    }


def _new_message_row(
    shared: MessageRow,
    *,
    recipient: Recipient,
    patient: PatientView | None,
    text: str,
    analysis: TextAnalysis,
    price_per_segment: Decimal,
) -> MessageRow:
    """A `message` row as a plain dict: bulk sends build thousands, and ORM objects are slow."""
    return shared | {
        "id": uuid.uuid4(),
        "patient_id": patient.id if patient else None,
        "patient_no": patient.patient_no if patient else None,
        "patient_name": f"{patient.first_name} {patient.last_name}" if patient else None,
        "recipient_role": recipient.role.value,
        "recipient_name": recipient.name,
        "to_number": recipient.number,
        "text": text,
        "encoding": analysis.encoding.value,
        "segments": analysis.segments,
        "cost": _cost(analysis.segments, price_per_segment),
    }


async def store_messages(
    session: AsyncSession, rows: Sequence[MessageRow], *, now: datetime
) -> None:
    """Insert in one statement (COPY on PostgreSQL) and wake the worker for each send time."""
    if not rows:
        return
    await bulk_insert(session, message_table, rows)
    wake_ups = {dispatch_job(row["next_attempt_at"], now) for row in rows}
    for job in sorted(wake_ups, key=lambda job: job.job_id or ""):
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
    content = await _resolve_content(session, clinic_id, settings, request, now)
    patient: PatientView | None = None
    skipped: list[Skipped] = []
    if request.to is not None:
        recipients = [_bare_number_recipient(request.to, settings.country)]
    else:
        assert request.patient_no is not None
        patient = await _patient_for_request(session, clinic_id, request.patient_no)
        _check_appointment_patient(content, [patient.id])
        recipients, skipped = patient_recipients(
            patient,
            message_type=content.type,
            policy=ReminderPolicy(settings.reminder_policy),
            include_guardians=_include_guardians(request, settings),
        )
        if not recipients:
            reasons = ", ".join(sorted({skip.reason for skip in skipped}))
            raise InvalidInput.for_field(
                "patient_no", f"no recipient can take this SMS ({reasons})", "no_recipient"
            )
    text = _render(content, _merge_values(content, settings, patient))
    analysis = analyze(text)
    if analysis.segments > settings.max_segments:
        raise _over_the_cap(analysis, settings)
    shared = _shared_row(clinic_id=clinic_id, settings=settings, content=content, now=now)
    rows = [
        _new_message_row(
            shared,
            recipient=recipient,
            patient=patient,
            text=text,
            analysis=analysis,
            price_per_segment=settings.price_per_segment,
        )
        for recipient in recipients
    ]
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


def _check_appointment_patient(content: Content, patient_ids: Sequence[uuid.UUID]) -> None:
    """Never text one patient another patient's appointment time."""
    expected = content.appointment_patient_id
    if expected is not None and any(patient_id != expected for patient_id in patient_ids):
        raise InvalidInput.for_field(
            "appointment_id", "the appointment is another patient's", "other_patient"
        )


def _include_guardians(request: MessageContent, settings: ClinicSettings) -> bool:
    if request.include_guardians is None:
        return settings.include_guardians
    return request.include_guardians


def _skipped_outcome(patient_no: str, reason: SkipReason) -> BulkOutcome:
    return BulkOutcome(patient_no=patient_no, outcome="skipped", reason=reason)


async def create_bulk(
    session: AsyncSession, *, clinic_id: uuid.UUID, request: BulkMessageCreate, now: datetime
) -> BulkResult:
    settings = await get_clinic_settings(session, clinic_id)
    if not settings.sms_enabled:
        disabled = [_skipped_outcome(no, "sms_disabled") for no in request.patient_nos]
        return BulkResult(queued=0, skipped=len(disabled), outcomes=disabled)
    content = await _resolve_content(session, clinic_id, settings, request, now)
    patients = await patients_service.get_patients_by_number(
        session, clinic_id=clinic_id, patient_nos=request.patient_nos
    )
    _check_appointment_patient(content, [patient.id for patient in patients.values()])
    policy = ReminderPolicy(settings.reminder_policy)
    include_guardians = _include_guardians(request, settings)
    shared_values = _shared_merge_values(content, settings)
    shared_row = _shared_row(clinic_id=clinic_id, settings=settings, content=content, now=now)
    analyses: dict[str, TextAnalysis] = {}
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
            patient, message_type=content.type, policy=policy, include_guardians=include_guardians
        )
        if not recipients:
            outcomes.append(_skipped_outcome(patient_no, skipped[0].reason))
            continue
        text = _render(content, _with_patient(shared_values, patient))
        analysis = analyses.get(text) or analyses.setdefault(text, analyze(text))
        if analysis.segments > settings.max_segments:
            outcomes.append(_skipped_outcome(patient_no, "too_long"))
            continue
        batch = [
            _new_message_row(
                shared_row,
                recipient=recipient,
                patient=patient,
                text=text,
                analysis=analysis,
                price_per_segment=settings.price_per_segment,
            )
            for recipient in recipients
        ]
        rows += batch
        outcomes.append(
            BulkOutcome(
                patient_no=patient_no, outcome="queued", message_ids=[row["id"] for row in batch]
            )
        )
    await store_messages(session, rows, now=now)
    queued = sum(1 for outcome in outcomes if outcome.outcome == "queued")
    return BulkResult(queued=queued, skipped=len(outcomes) - queued, outcomes=outcomes)


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


@dataclass(frozen=True, slots=True)
class MessageFilters:
    status: list[MessageStatus] | None = None
    type: str | None = None
    patient_no: str | None = None
    to: str | None = None
    practitioner: str | None = None
    appointment_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None


def _filtered(statement: Select[Message], filters: MessageFilters, country: str) -> Select[Message]:
    table = message_table.c
    if filters.status:
        statement = statement.where(table.status.in_([s.value for s in filters.status]))
    if filters.type:
        statement = statement.where(table.type == filters.type)
    if filters.patient_no:
        statement = statement.where(table.patient_no == filters.patient_no)
    if filters.to:
        statement = statement.where(
            table.to_number == number_filter(filters.to, country, field="to")
        )
    if filters.practitioner:
        statement = statement.where(table.practitioner == filters.practitioner)
    if filters.appointment_id:
        statement = statement.where(table.appointment_id == filters.appointment_id)
    if filters.created_from:
        statement = statement.where(table.created_at >= filters.created_from)
    if filters.created_to:
        statement = statement.where(table.created_at < filters.created_to)
    if filters.q:
        needle = filters.q.lower()
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (table.text, table.recipient_name, table.patient_name)
                )
            )
        )
    return statement


async def list_messages(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    filters: MessageFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Message], str | None]:
    """Newest first; the cursor is the (created_at, id) of the last row returned."""
    settings = await get_clinic_settings(session, clinic_id)
    table = message_table.c
    statement: Select[Message] = select(Message).where(table.clinic_id == clinic_id)
    statement = _filtered(statement, filters, settings.country)
    if cursor is not None:
        after = decode_time_cursor(cursor)
        statement = statement.where(tuple_(table.created_at, table.id) < after)
    statement = statement.order_by(table.created_at.desc(), table.id.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_time_cursor(page[-1].created_at, page[-1].id) if more else None
    return page, next_cursor
