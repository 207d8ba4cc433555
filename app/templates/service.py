"""Per-clinic template texts. Reads never write: a type with no stored row (a clinic made
before a new type existed) shows our default until the clinic saves or resets it."""

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.lookup import appointment_merge_values, find_appointment
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import FieldError, InvalidInput, NotFound
from app.core.models import utc_now
from app.core.phones import format_for_display
from app.messages.recipients import CONSENT_REQUIRED_TYPES
from app.patients import service as patients_service
from app.patients.models import Patient
from app.reminder_rules import readiness
from app.replies.keywords import DEFAULT_KEYWORDS, OPT_OUT_WORDS, keyword_values
from app.sms.service import analyze_for, encode_for, unsupported_characters_warning
from app.templates.asking import spelled_out
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
    KeywordWarning,
    MergeValues,
    SegmentsWarning,
    TemplateList,
    TemplatePreview,
    TemplatePublic,
    TemplateWarning,
)
from app.templates.stored import default_row, list_templates


async def create_default_templates(
    session: AsyncSession, *, clinic_id: uuid.UUID, now: datetime | None = None
) -> None:
    now = now or utc_now()
    session.add_all([default_row(clinic_id, template_type, now) for template_type in TemplateType])
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
    return row if row is not None else default_row(clinic_id, template_type, now)


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
        row = default_row(clinic_id, template_type, now)
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
    await _require_rules_ready(session, clinic_id, template_type, text, now)
    return await _save(
        session,
        clinic_id=clinic_id,
        template_type=template_type,
        text=text,
        allow_reply=allow_reply,
        now=now,
    )


async def _require_rules_ready(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    template_type: TemplateType,
    text: str,
    now: datetime,
) -> None:
    """A rule that is on keeps a template its messages can be made from."""
    settings = await get_clinic_settings(session, clinic_id)
    ready = await readiness.current(session, clinic_id, settings.business_phone, now)
    readiness.require_ready(
        ready.rules,
        ready.texts | {template_type: text},
        business_phone=settings.business_phone,
        change="template",
        before=ready.gaps,
    )


async def reset_template(
    session: AsyncSession, *, clinic_id: uuid.UUID, template_type: TemplateType, now: datetime
) -> MessageTemplate:
    default = DEFAULT_TEMPLATES[template_type]
    await _require_rules_ready(session, clinic_id, template_type, default.text, now)
    return await _save(
        session,
        clinic_id=clinic_id,
        template_type=template_type,
        text=default.text,
        allow_reply=default.allow_reply,
        now=now,
    )


def _warnings(parsed: ParsedTemplate, settings: ClinicSettings) -> list[TemplateWarning]:
    warnings = _segment_warnings(parsed, settings) + _keyword_warnings(parsed, settings)
    unsupported = unsupported_characters_warning(parsed.text, settings)
    if unsupported is not None:
        warnings.append(unsupported)
    return warnings


def _keyword_warnings(parsed: ParsedTemplate, settings: ClinicSettings) -> list[TemplateWarning]:
    """A reply keyword written out, ours by default or the clinic's: it does not follow the
    settings, and where it is not the clinic's keyword, a patient who answers it is not read."""
    current = (settings.confirm_keyword, settings.cancel_keyword)
    words = spelled_out(parsed, dict.fromkeys((*current, *DEFAULT_KEYWORDS)))
    if not words:
        return []
    stale = [word for word in words if word not in current]
    read = f" This clinic reads {' and '.join(current)}." if stale else ""
    return [
        KeywordWarning(
            code="keyword_spelled_out",
            detail=(
                f"The text spells out {', '.join(words)}: write [Bekreft] and [Avbestill] "
                f"so it follows the clinic's reply keywords.{read}"
            ),
            keywords=words,
        )
    ]


def _segment_warnings(parsed: ParsedTemplate, settings: ClinicSettings) -> list[TemplateWarning]:
    segments = encode_for(parsed.render(LONG_SAMPLE_VALUES), settings).analysis.segments
    if segments <= settings.max_segments:
        return []
    return [
        SegmentsWarning(
            code="may_exceed_max_segments",
            detail=(
                f"With long but realistic values (names, practitioner, time, URLs) this text "
                f"makes {segments} SMS segments, over the clinic's max_segments of "
                f"{settings.max_segments}; such messages would be refused when sent."
            ),
            segments=segments,
            max_segments=settings.max_segments,
        )
    ]


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
    return {
        "Fornavn": patient.first_name,
        "Etternavn": patient.last_name,
        "Mottaker": patient.first_name,
        "du": "du",
    }


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
    if "Fornavn" in given:
        given.setdefault("Mottaker", given["Fornavn"])  # the patient's own copy
    keywords = keyword_values(
        confirm_word=settings.confirm_keyword, cancel_word=settings.cancel_keyword
    )
    merged = {**SAMPLE_VALUES, **keywords, **real, **given}
    rendered = _render(parsed, merged)
    return TemplatePreview(
        type=template_type,
        template_text=text,
        text=rendered,
        values={name: merged[name] for name in _merge_fields(parsed)},
        analysis=analyze_for(rendered, settings),
        warnings=_warnings(parsed, settings),
    )
