"""Saving a patient, and everything the change means for what is waiting to be sent to them
(DESIGN §5): one transaction, the request's."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.followups import schedule_skipped
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings
from app.messages.readdress import Person, addressing, follow_patient, people_of
from app.messages.rerender import render_again
from app.patients import service
from app.patients.models import Patient
from app.patients.schemas import PatientWrite
from app.recalls import service as recalls


async def save_patient(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    patient_no: str,
    data: PatientWrite,
    now: datetime,
) -> tuple[Patient, bool]:
    """Create or replace the patient; a changed number or consent reaches their pending
    messages, and their upcoming appointments get what was skipped for want of either; a
    changed name renders their pending texts again."""
    existing = await service.find_patient(session, clinic_id=clinic_id, patient_no=patient_no)
    before = None if existing is None else before_of(existing)
    patient, created = await service.upsert_patient(
        session, clinic_id=clinic_id, patient_no=patient_no, data=data, now=now
    )
    await recalls.follow_patient(
        session, clinic_id=clinic_id, patient_id=patient.id, data=data, now=now
    )
    if before is None:
        return patient, created
    await follow_change(session, clinic_id=clinic_id, patient=patient, before=before, now=now)
    return patient, created


Before = tuple[list[Person], tuple[str, str]]
"""Who a patient's messages went to, and their name, before a save."""


def before_of(patient: Patient) -> Before:
    return people_of(patient), _name(patient)


async def follow_change(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    patient: Patient,
    before: Before,
    now: datetime,
    settings: ClinicSettings | None = None,
) -> None:
    """A stored patient was saved again: a changed number or consent reaches their pending
    messages and upcoming appointments, a changed name renders their pending texts again."""
    people_before, name_before = before
    readdressed = addressing(people_before) != addressing(people_of(patient))
    renamed = name_before != _name(patient)
    if not (readdressed or renamed):
        return
    settings = settings or await get_clinic_settings(session, clinic_id)
    if readdressed:
        await follow_patient(
            session,
            clinic_id=clinic_id,
            settings=settings,
            patient_id=patient.id,
            before=people_before,
            patient=patient,
            now=now,
        )
        await schedule_skipped(session, clinic_id=clinic_id, patient=patient, now=now)
    if renamed:
        await render_again(
            session, clinic_id=clinic_id, settings=settings, patient=patient, now=now
        )


def _name(patient: Patient) -> tuple[str, str]:
    return patient.first_name, patient.last_name
