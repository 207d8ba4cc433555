"""Per-clinic template texts. Reads never write: a type with no stored row (a clinic made
before a new type existed) shows our default until the clinic saves or resets it."""

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.appointments.lookup import appointment_merge_values, find_appointment
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import FieldError, InvalidInput, NotFound
from app.core.models import utc_now
from app.core.phones import format_for_display
from app.messages.recipients import CONSENT_REQUIRED_TYPES
from app.patients import service as patients_service
from app.patients.models import Patient
from app.replies.keywords import OPT_OUT_WORDS
from app.sms.service import analyze_for, encode_for, unsupported_characters_warning
from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType
from app.templates.merge import (
    KNOWN_FIELDS,
    LONG_SAMPLE_VALUES,
    SAMPLE_VALUES,
    ParsedTemplate,
    TemplateSyntaxError,
    parse,
)
from app.templates.models import MessageTemplate
from app.templates.schemas import (
    MergeValues,
    SegmentsWarning,
    TemplateList,
    TemplatePreview,
    TemplatePublic,
    TemplateWarning,
)


def _default_row(
    clinic_id: uuid.UUID, template_type: TemplateType, now: datetime
) -> MessageTemplate:
    default = DEFAULT_TEMPLATES[template_type]
    return MessageTemplate(
        clinic_id=clinic_id,
        type=template_type.value,
        text=default.text,
        allow_reply=default.allow_reply,
        updated_at=now,
    )


async def create_default_templates(
    session: AsyncSession, *, clinic_id: uuid.UUID, now: datetime | None = None
) -> None:
    now = now or utc_now()
    session.add_all([_default_row(clinic_id, template_type, now) for template_type in TemplateType])
    await session.flush()


async def _stored(
    session: AsyncSession, clinic_id: uuid.UUID, template_type: TemplateType
) -> MessageTemplate | None:
    return await session.get(MessageTemplate, (clinic_id, template_type.value))


async def get_template(
    session: AsyncSession, *, clinic_id: uuid.UUID, template_type: TemplateType, now: datetime
) -> MessageTemplate:
    """The clinic's template of this type (our default, unsaved, if it has none)."""
    row = await _stored(session, clinic_id, template_type)
    return row if row is not None else _default_row(clinic_id, template_type, now)


async def list_templates(
    session: AsyncSession, *, clinic_id: uuid.UUID, now: datetime
) -> list[MessageTemplate]:
    """All twelve, in the order of `TemplateType`."""
    statement = select(MessageTemplate).where(col(MessageTemplate.clinic_id) == clinic_id)
    stored = {row.type: row for row in (await session.execute(statement)).scalars()}
    return [
        stored.get(template_type.value) or _default_row(clinic_id, template_type, now)
        for template_type in TemplateType
    ]


def syntax_error(exc: TemplateSyntaxError, *, field: str = "text") -> InvalidInput:
    """A template problem as a 422 naming the field, with the position and known fields."""
    extra: dict[str, object] = {
        "position": exc.position,
        "merge_field": exc.field,
        "known_fields": list(KNOWN_FIELDS),
    }
    if exc.suggestion is not None:
        extra["suggestion"] = exc.suggestion
    return InvalidInput(
        exc.message,
        errors=[FieldError(field=field, reason=exc.message, code=exc.code)],
        extra=extra,
    )


def _parse(text: str) -> ParsedTemplate:
    try:
        return parse(text)
    except TemplateSyntaxError as exc:
        raise syntax_error(exc) from exc


async def _save(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    template_type: TemplateType,
    text: str,
    allow_reply: bool,
    now: datetime,
) -> MessageTemplate:
    row = await _stored(session, clinic_id, template_type)
    if row is None:
        row = _default_row(clinic_id, template_type, now)
        session.add(row)
    row.text = text
    row.allow_reply = allow_reply
    row.updated_at = now
    return row


def _check_opt_out(template_type: TemplateType, text: str, allow_reply: bool) -> None:
    """A marketing or offer text must say how to opt out, and be answerable with it."""
    if template_type not in CONSENT_REQUIRED_TYPES:
        return
    errors: list[FieldError] = []
    words = {word.upper() for word in re.findall(r"[^\W\d_]+", text)}
    if not words & OPT_OUT_WORDS:
        errors.append(
            FieldError(
                field="text",
                reason="a marketing or offer text must tell how to opt out: add the reply "
                'keyword STOPP, e.g. "Svar STOPP for å reservere deg mot slike meldinger."',
                code="no_opt_out",
            )
        )
    if not allow_reply:
        errors.append(
            FieldError(
                field="allow_reply",
                reason="marketing and offers must be answerable with STOPP: allow_reply must "
                "be true",
                code="must_allow_reply",
            )
        )
    if errors:
        raise InvalidInput("; ".join(error.reason for error in errors), errors=errors)


async def update_template(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    template_type: TemplateType,
    text: str,
    allow_reply: bool,
    now: datetime,
) -> MessageTemplate:
    _parse(text)
    _check_opt_out(template_type, text, allow_reply)
    return await _save(
        session,
        clinic_id=clinic_id,
        template_type=template_type,
        text=text,
        allow_reply=allow_reply,
        now=now,
    )


async def reset_template(
    session: AsyncSession, *, clinic_id: uuid.UUID, template_type: TemplateType, now: datetime
) -> MessageTemplate:
    default = DEFAULT_TEMPLATES[template_type]
    return await _save(
        session,
        clinic_id=clinic_id,
        template_type=template_type,
        text=default.text,
        allow_reply=default.allow_reply,
        now=now,
    )


def _warnings(parsed: ParsedTemplate, settings: ClinicSettings) -> list[TemplateWarning]:
    warnings: list[TemplateWarning] = []
    segments = encode_for(parsed.render(LONG_SAMPLE_VALUES), settings).analysis.segments
    if segments > settings.max_segments:
        warnings.append(
            SegmentsWarning(
                code="may_exceed_max_segments",
                detail=(
                    f"With long but realistic values (names, practitioner, time, URLs) this "
                    f"text makes {segments} SMS segments, over the clinic's max_segments of "
                    f"{settings.max_segments}; such messages would be refused when sent."
                ),
                segments=segments,
                max_segments=settings.max_segments,
            )
        )
    unsupported = unsupported_characters_warning(parsed.text, settings)
    if unsupported is not None:
        warnings.append(unsupported)
    return warnings


def _merge_fields(parsed: ParsedTemplate) -> list[str]:
    return [name for name in KNOWN_FIELDS if name in parsed.fields]


def to_public(row: MessageTemplate, settings: ClinicSettings) -> TemplatePublic:
    template_type = TemplateType(row.type)
    parsed = parse(row.text)
    return TemplatePublic(
        type=template_type,
        text=row.text,
        allow_reply=row.allow_reply,
        is_default=row.text == DEFAULT_TEMPLATES[template_type].text,
        merge_fields=_merge_fields(parsed),
        updated_at=row.updated_at,
        analysis=analyze_for(parsed.render(SAMPLE_VALUES), settings),
        warnings=_warnings(parsed, settings),
    )


async def public_template(
    session: AsyncSession, *, clinic_id: uuid.UUID, row: MessageTemplate
) -> TemplatePublic:
    return to_public(row, await get_clinic_settings(session, clinic_id))


async def public_list(
    session: AsyncSession, *, clinic_id: uuid.UUID, now: datetime
) -> TemplateList:
    rows = await list_templates(session, clinic_id=clinic_id, now=now)
    settings = await get_clinic_settings(session, clinic_id)
    return TemplateList(data=[to_public(row, settings) for row in rows])


def _render(parsed: ParsedTemplate, values: Mapping[str, str]) -> str:
    try:
        return parsed.render(values)
    except TemplateSyntaxError as exc:
        raise syntax_error(exc, field=f"values.{exc.field}") from exc


async def _patient_values(
    session: AsyncSession, clinic_id: uuid.UUID, patient_no: str
) -> dict[str, str]:
    try:
        patient = await patients_service.get_patient(
            session, clinic_id=clinic_id, patient_no=patient_no
        )
    except NotFound as exc:
        raise InvalidInput.for_field(
            "patient_no", "no patient with this number", "unknown"
        ) from exc
    return {"Fornavn": patient.first_name, "Etternavn": patient.last_name}


async def _record_values(
    session: AsyncSession,
    settings: ClinicSettings,
    patient_no: str | None,
    appointment_id: str | None,
) -> dict[str, str]:
    """Real values from a stored patient and/or appointment, and the clinic's phone."""
    clinic_id = settings.clinic_id
    values: dict[str, str] = {}
    if appointment_id is not None:
        appointment = await find_appointment(
            session, clinic_id=clinic_id, appointment_id=appointment_id
        )
        if appointment is None:
            raise InvalidInput.for_field("appointment_id", "no appointment with this id", "unknown")
        values |= appointment_merge_values(appointment, ZoneInfo(settings.time_zone))
        patient = await session.get(Patient, appointment.patient_id)
        if patient_no is None and patient is not None:
            patient_no = patient.patient_no
        elif patient is None or patient.patient_no != patient_no:
            raise InvalidInput.for_field(
                "appointment_id", "the appointment is another patient's", "other_patient"
            )
    if patient_no is not None:
        values |= await _patient_values(session, clinic_id, patient_no)
    if values and settings.business_phone:
        values["Businessphone"] = format_for_display(settings.business_phone, settings.country)
    return values


async def preview_template(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    template_type: TemplateType,
    text: str | None,
    values: MergeValues | None,
    now: datetime,
    patient_no: str | None = None,
    appointment_id: str | None = None,
) -> TemplatePreview:
    """Render the saved text (or `text`, unsaved) with sample values overridden by the
    given patient's and appointment's values, and those by `values`."""
    if text is None:
        text = (
            await get_template(session, clinic_id=clinic_id, template_type=template_type, now=now)
        ).text
    parsed = _parse(text)
    settings = await get_clinic_settings(session, clinic_id)
    real = await _record_values(session, settings, patient_no, appointment_id)
    given = values.model_dump(exclude_none=True) if values is not None else {}
    merged = {**SAMPLE_VALUES, **real, **given}
    rendered = _render(parsed, merged)
    return TemplatePreview(
        type=template_type,
        template_text=text,
        text=rendered,
        values={name: merged[name] for name in _merge_fields(parsed)},
        analysis=analyze_for(rendered, settings),
        warnings=_warnings(parsed, settings),
    )
