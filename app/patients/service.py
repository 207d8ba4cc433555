"""Patients pushed by the practice system: upsert, look-up, search, and erasure."""

import base64
import binascii
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.clinic_settings.service import get_clinic_settings
from app.core.db import in_batches
from app.core.errors import Conflict, FieldError, InvalidInput, NotFound
from app.core.models import table_of
from app.core.phones import InvalidPhoneNumber, mask, parse_phone_number
from app.patients.models import PATIENT_VIEW_FIELDS, Patient, PatientView
from app.patients.schemas import (
    MAX_PATIENT_NO_LENGTH,
    GuardianPublic,
    NotTextableReason,
    PatientDetail,
    PatientPublic,
    PatientWrite,
)
from app.recalls.schemas import RecallStatus

logger = logging.getLogger(__name__)

SEARCH_TEXT_LENGTH = 400
_PHONE_QUERY = re.compile(r"[\d\s+\-().]*\d[\d\s+\-().]*")


@dataclass(frozen=True, slots=True)
class _Number:
    e164: str | None
    problem: str | None  # a NotTextableReason value; None = textable


def _parse_number(raw: str | None, *, country: str, field: str) -> _Number | FieldError:
    if raw is None or not raw.strip():
        return _Number(None, NotTextableReason.NO_MOBILE.value)
    try:
        number = parse_phone_number(raw, country)
    except InvalidPhoneNumber as exc:
        # The reason never echoes the input: error bodies end up in logs too.
        return FieldError(field=field, reason=str(exc), code=exc.problem.value)
    return _Number(number.e164, None if number.is_mobile else NotTextableReason.NOT_MOBILE.value)


def _search_text(first_name: str, last_name: str, patient_no: str, numbers: list[str]) -> str:
    text = " ".join([first_name, last_name, patient_no, *numbers]).lower()
    return text[:SEARCH_TEXT_LENGTH]


def patient_fields(patient_no: str, data: PatientWrite, country: str) -> dict[str, Any]:
    """The stored columns for `data`; raises InvalidInput naming every bad number."""
    errors: list[FieldError] = []
    mobile = _parse_number(data.mobile, country=country, field="mobile")
    if isinstance(mobile, FieldError):
        errors.append(mobile)
    guardians: list[dict[str, Any]] = []
    for index, guardian in enumerate(data.guardians):
        number = _parse_number(guardian.mobile, country=country, field=f"guardians.{index}.mobile")
        if isinstance(number, FieldError):
            errors.append(number)
            continue
        guardians.append(
            {
                "name": guardian.name,
                "mobile": number.e164,
                "mobile_problem": number.problem,
                "wants_sms": guardian.wants_sms,
            }
        )
    if errors:
        detail = "; ".join(f"{error.field}: {error.reason}" for error in errors)
        raise InvalidInput(detail, errors=errors)
    assert isinstance(mobile, _Number)
    numbers = [n for n in (mobile.e164, *(g["mobile"] for g in guardians)) if n]
    return {
        "first_name": data.first_name,
        "last_name": data.last_name,
        "mobile": mobile.e164,
        "mobile_problem": mobile.problem,
        "wants_sms": data.wants_sms,
        "guardians": guardians,
        "search_text": _search_text(data.first_name, data.last_name, patient_no, numbers),
    }


async def find_patient(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient_no: str
) -> Patient | None:
    statement = select(Patient).where(
        col(Patient.clinic_id) == clinic_id, col(Patient.patient_no) == patient_no
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_patient(session: AsyncSession, *, clinic_id: uuid.UUID, patient_no: str) -> Patient:
    patient = await find_patient(session, clinic_id=clinic_id, patient_no=patient_no)
    if patient is None:
        raise NotFound("No patient with this number.")
    return patient


async def get_patients_by_number(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient_nos: Sequence[str]
) -> dict[str, PatientView]:
    """The clinic's patients among `patient_nos`, by number; unknown numbers are left out.

    Plain rows of what sending reads, not ORM objects: a bulk send reads 10,000 at once."""
    wanted = list(dict.fromkeys(patient_nos))
    table = table_of(Patient)
    columns = [table.c[name] for name in PATIENT_VIEW_FIELDS]
    found: dict[str, PatientView] = {}
    for condition in in_batches(session, table.c.patient_no, wanted):
        statement = sa_select(*columns).where(table.c.clinic_id == clinic_id, condition)
        for patient in (await session.execute(statement)).all():
            found[patient.patient_no] = patient
    return found


async def upsert_patient(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    patient_no: str,
    data: PatientWrite,
    now: datetime,
) -> tuple[Patient, bool]:
    """Create or replace the patient; returns it and whether it was created.

    Numbers are parsed with the clinic's country; nothing is written when one is invalid.
    The STOPP opt-out (`opted_out_at`) is not part of the input and survives updates.
    """
    settings = await get_clinic_settings(session, clinic_id)
    fields = patient_fields(patient_no, data, settings.country)
    patient = await find_patient(session, clinic_id=clinic_id, patient_no=patient_no)
    created = patient is None
    given_before = patient is not None and patient.marketing_consent
    fields["marketing_consent"] = data.marketing_consent
    if data.marketing_consent != given_before:
        fields["marketing_consent_at"] = now if data.marketing_consent else None
    if patient is None:
        patient = Patient(
            clinic_id=clinic_id, patient_no=patient_no, created_at=now, updated_at=now, **fields
        )
        session.add(patient)
    else:
        for name, value in fields.items():
            setattr(patient, name, value)
        patient.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another request created the same patient number between our read and write.
        raise Conflict(
            "This patient was saved by another request at the same time; retry."
        ) from exc
    logger.debug(
        "patient saved",
        extra={
            "clinic_id": str(clinic_id),
            "patient_no": patient_no,
            "is_new": created,
            "mobile": mask(patient.mobile) if patient.mobile else None,
            "mobile_problem": patient.mobile_problem,
            "guardians": len(patient.guardians),
        },
    )
    return patient, created


def encode_cursor(patient_no: str) -> str:
    return base64.urlsafe_b64encode(patient_no.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        patient_no = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        patient_no = ""
    if not patient_no or len(patient_no) > MAX_PATIENT_NO_LENGTH:
        raise InvalidInput.for_field("cursor", "not a cursor from this list", "invalid_cursor")
    return patient_no


def _search_conditions(query: str, country: str) -> list[ColumnElement[bool]]:
    """Every word must occur in the name, patient number or a number of the patient.

    A query that looks like a phone number is matched both as typed (digits only) and,
    when it parses, in E.164, so `912 34 567`, `+47 912 34 567` and `0047…` all find it.
    """
    text = query.strip().lower()
    if _PHONE_QUERY.fullmatch(text):
        digits = re.sub(r"[^\d+]", "", text)
        terms = {digits.lstrip("+")}
        try:
            terms.add(parse_phone_number(text, country).e164)
        except InvalidPhoneNumber:
            pass
        return [or_(*(col(Patient.search_text).contains(t, autoescape=True) for t in terms))]
    return [col(Patient.search_text).contains(word, autoescape=True) for word in text.split()]


async def list_patients(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    query: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Patient], str | None]:
    """A page of the clinic's patients ordered by patient number, and the next page's cursor."""
    statement = select(Patient).where(col(Patient.clinic_id) == clinic_id)
    if cursor is not None:
        statement = statement.where(col(Patient.patient_no) > decode_cursor(cursor))
    if query is not None and query.strip():
        settings = await get_clinic_settings(session, clinic_id)
        statement = statement.where(*_search_conditions(query, settings.country))
    statement = statement.order_by(col(Patient.patient_no)).limit(limit + 1)
    patients = list((await session.execute(statement)).scalars())
    if len(patients) <= limit:
        return patients, None
    page = patients[:limit]
    return page, encode_cursor(page[-1].patient_no)


def _reason(problem: str | None) -> NotTextableReason | None:
    return NotTextableReason(problem) if problem is not None else None


def to_detail(patient: Patient, recall: RecallStatus) -> PatientDetail:
    return PatientDetail(**to_public(patient).model_dump(), recall=recall)


def to_public(patient: Patient) -> PatientPublic:
    return PatientPublic(
        patient_no=patient.patient_no,
        first_name=patient.first_name,
        last_name=patient.last_name,
        mobile=patient.mobile,
        textable=patient.mobile_problem is None,
        not_textable_reason=_reason(patient.mobile_problem),
        wants_sms=patient.wants_sms,
        guardians=[
            GuardianPublic(
                name=guardian["name"],
                mobile=guardian.get("mobile"),
                textable=guardian.get("mobile_problem") is None,
                not_textable_reason=_reason(guardian.get("mobile_problem")),
                wants_sms=bool(guardian.get("wants_sms")),
            )
            for guardian in patient.guardians
        ],
        opted_out=patient.opted_out_at is not None,
        opted_out_at=patient.opted_out_at,
        marketing_consent=patient.marketing_consent,
        marketing_consent_at=patient.marketing_consent_at,
        created_at=patient.created_at,
        updated_at=patient.updated_at,
    )
