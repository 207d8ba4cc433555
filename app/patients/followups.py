"""Saving a patient, and everything the change means for what is waiting to be sent to them
(DESIGN §5): one transaction, the request's."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.followups import schedule_skipped
from app.clinic_settings.service import get_clinic_settings
from app.messages.readdress import follow_patient, people_of
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
    messages, and their upcoming appointments get what was skipped for want of either."""
    existing = await service.find_patient(session, clinic_id=clinic_id, patient_no=patient_no)
    before = people_of(existing) if existing is not None else None
    patient, created = await service.upsert_patient(
        session, clinic_id=clinic_id, patient_no=patient_no, data=data, now=now
    )
    await recalls.follow_patient(
        session, clinic_id=clinic_id, patient_id=patient.id, data=data, now=now
    )
    if before is None or before == people_of(patient):
        return patient, created
    settings = await get_clinic_settings(session, clinic_id)
    await follow_patient(
        session,
        clinic_id=clinic_id,
        settings=settings,
        patient_id=patient.id,
        before=before,
        patient=patient,
        now=now,
    )
    await schedule_skipped(session, clinic_id=clinic_id, patient=patient, now=now)
    return patient, created
