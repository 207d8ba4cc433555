"""Composing messages: the text source, timing, merge values and rendering. The text as it
is sent is in `outgoing`, the rows in `rows`."""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.lookup import appointment_merge_values, find_appointment
from app.appointments.models import Appointment, AppointmentStatus, Confirmation
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import send_window_rules
from app.core.errors import Conflict, InvalidInput
from app.core.phones import format_for_display
from app.messages.models import RecipientRole
from app.messages.recipients import CONSENT_REQUIRED_TYPES, Recipient
from app.messages.schemas import MessageContent
from app.messages.window import Expired, SendKind, compute_send_time
from app.patients.models import PatientView
from app.replies.keywords import keyword_values
from app.templates import service as templates_service
from app.templates.asking import without_asking
from app.templates.defaults import TemplateType
from app.templates.merge import (
    KNOWN_FIELDS,
    FieldPart,
    ParsedTemplate,
    TemplatePart,
    TemplateSyntaxError,
    TextPart,
    parse,
)

FREE_TEXT_TYPE = "free_text"
# The merge fields that can be the patient's name ([Mottaker] to the patient, [du] to a
# guardian): a text with one is rendered again on a rename.
NAME_FIELDS = frozenset({"Fornavn", "Etternavn", "Mottaker", "du"})
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
    no_ask_for: str | None = None
    """The confirm keyword, when the appointment is confirmed: the text does not ask again."""


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


def _answerable(
    message_type: str, allow_reply: bool, request: MessageContent, settings: ClinicSettings
) -> bool:
    """Marketing and offers go from the reply number, where the patient can answer STOPP."""
    if message_type not in CONSENT_REQUIRED_TYPES:
        return allow_reply
    if request.allow_reply is False:
        raise InvalidInput.for_field(
            "allow_reply",
            "marketing and offers must be answerable with STOPP: they always allow replies",
            "must_allow_reply",
        )
    if not settings.reply_number:
        raise InvalidInput.for_field(
            "reply_number",
            "marketing and offers go from the clinic's reply number, where STOPP can be "
            "answered; this clinic has none (set reply_number in /v1/settings)",
            "missing_reply_number",
        )
    return True


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


async def resolve_content(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    settings: ClinicSettings,
    request: MessageContent,
    now: datetime,
) -> Content:
    message_type, template_text, allow_reply = await _template_source(
        session, clinic_id, request, now
    )
    allow_reply = _answerable(message_type, allow_reply, request, settings)
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
        confirmed_keyword(message_type, appointment, settings),
    )


def confirmed_keyword(
    message_type: str, appointment: Appointment | None, settings: ClinicSettings
) -> str | None:
    """What a text for this appointment must not ask for any more, if anything."""
    confirmed = appointment is not None and appointment.confirmation == Confirmation.CONFIRMED
    return settings.confirm_keyword if confirmed and message_type in ANCHORED_TYPES else None


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


def shared_merge_values(content: Content, settings: ClinicSettings) -> dict[str, str]:
    """The merge values every recipient of one request shares, the request's own last."""
    values = keyword_values(
        confirm_word=settings.confirm_keyword, cancel_word=settings.cancel_keyword
    )
    if settings.business_phone:
        values["Businessphone"] = format_for_display(settings.business_phone, settings.country)
    if content.request.practitioner:
        values["Behandler"] = content.request.practitioner
    return values | content.request.merge_values


def addressee_values(recipient: Recipient, patient: PatientView | None) -> dict[str, str]:
    """[Mottaker], the recipient's own name, and [du]: "du" to the patient (or a bare
    number), the patient's first name to a guardian."""
    if recipient.role is RecipientRole.GUARDIAN and patient is not None:
        return {"Mottaker": recipient.name or "", "du": patient.first_name}
    if recipient.role is RecipientRole.PATIENT and patient is not None:
        return {"Mottaker": patient.first_name, "du": "du"}
    return {"du": "du"}


def with_patient(
    shared: dict[str, str], patient: PatientView | None, recipient: Recipient
) -> dict[str, str]:
    own = {} if patient is None else {"Fornavn": patient.first_name, "Etternavn": patient.last_name}
    values = own | addressee_values(recipient, patient) | shared
    if recipient.role is RecipientRole.NUMBER and "Fornavn" in values:
        # A bare number: whoever the caller names is whoever gets it.
        values.setdefault("Mottaker", values["Fornavn"])
    return values


def with_shared_filled_in(
    content: Content, shared: dict[str, str]
) -> tuple[Content, dict[str, str]]:
    """For many patients: the content with the merge fields that are not a patient's own
    (NAME_FIELDS) filled in from `shared` once, and what is left of `shared` for
    `with_patient`. Rendered with these, each patient's text is what `shared` makes it; a
    field without a value stays, to fail (in text order) as it would have."""
    parts = tuple(_filled_in(part, shared) for part in content.template.parts)
    left = {name: value for name, value in shared.items() if name in NAME_FIELDS}
    return replace(content, template=ParsedTemplate(content.template.text, parts)), left


def _filled_in(part: TemplatePart, shared: dict[str, str]) -> TemplatePart:
    if not isinstance(part, FieldPart) or part.name in NAME_FIELDS:
        return part
    value = shared.get(part.name)
    return TextPart(value, part.position) if value is not None and value.strip() else part


def merge_values(
    content: Content, settings: ClinicSettings, patient: PatientView | None, recipient: Recipient
) -> dict[str, str]:
    return with_patient(shared_merge_values(content, settings), patient, recipient)


def text_of(content: Content, values: dict[str, str]) -> str:
    """The rendered text (TemplateSyntaxError if a value is missing); for a confirmed
    appointment less what asks for the confirm keyword, which may leave nothing."""
    text = content.template.render(values)
    return text if content.no_ask_for is None else without_asking(text, content.no_ask_for)


def render(content: Content, values: dict[str, str]) -> str:
    field = "text" if content.request.text is not None else "template_type"
    try:
        text = text_of(content, values)
    except TemplateSyntaxError as exc:
        raise templates_service.syntax_error(exc, field=field) from exc
    if not text:
        reason = "the appointment is confirmed and the text only asks for a confirmation"
        raise InvalidInput.for_field(field, reason, "confirmed")
    return text
