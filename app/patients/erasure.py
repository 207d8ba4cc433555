"""Erasure: a patient goes, and their personal data with them, from every table."""

import logging
import uuid
from datetime import datetime

from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.appointments.erasure import release_shared
from app.events.service import erase_event_data
from app.idempotency.erasure import erase_idempotent_answers
from app.messages.models import Message, MessageStatus
from app.messages.recipients import numbers_of
from app.optouts.service import forget_numbers
from app.patients.models import Patient
from app.patients.service import get_patient
from app.replies.service import erase_replies_of

logger = logging.getLogger(__name__)


async def erase_patient(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient_no: str, now: datetime
) -> None:
    """Delete the patient and scrub their personal data from this clinic's messages.

    Messages keep their status, cost and times (statistics and invoicing) but lose text,
    number and names. A message still waiting to go cannot be sent without a number, so it is
    cancelled in the same statement. Scrub other tables here, before the patient row goes
    (its foreign keys are set to null on delete).
    """
    patient = await get_patient(session, clinic_id=clinic_id, patient_no=patient_no)
    await release_shared(session, clinic_id=clinic_id, patient_id=patient.id, now=now)
    of_patient = (col(Message.clinic_id) == clinic_id, col(Message.patient_id) == patient.id)
    sent = (
        await session.execute(
            select(
                col(Message.id),
                col(Message.text),
                col(Message.to_number),
                col(Message.recipient_name),
            ).where(*of_patient)
        )
    ).all()
    pending = col(Message.status) == MessageStatus.PENDING
    scrubbed = await session.execute(
        update(Message)
        .where(*of_patient)
        .values(
            text=None,
            text_source=None,
            to_number=None,
            recipient_name=None,
            patient_name=None,
            patient_no=None,
            erased_at=now,
            status=case((pending, MessageStatus.CANCELLED), else_=col(Message.status)),
            cancelled_at=case((pending, now), else_=col(Message.cancelled_at)),
        )
        .execution_options(synchronize_session=False)
    )
    replies = await erase_replies_of(
        session, clinic_id=clinic_id, patient_id=patient.id, mobile=patient.mobile, now=now
    )
    await erase_event_data(session, clinic_id=clinic_id, patient_id=patient.id, now=now)
    numbers = set(numbers_of(patient))
    await forget_numbers(session, clinic_id=clinic_id, numbers=numbers)
    names = {
        f"{patient.first_name} {patient.last_name}",
        *(g.get("name") for g in patient.guardians),
    }
    await erase_idempotent_answers(
        session,
        clinic_id=clinic_id,
        markers=[str(row.id) for row in sent],
        exact={patient.patient_no, *(row.text for row in sent), *(r.recipient_name for r in sent)}
        - {None},
        contained=[n for n in (*numbers, *names, *(row.to_number for row in sent)) if n],
        whole=[patient.patient_no],
    )
    await session.execute(
        delete(Patient)
        .where(col(Patient.clinic_id) == clinic_id, col(Patient.id) == patient.id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(patient)
    logger.info(
        "patient erased",
        extra={
            "clinic_id": str(clinic_id),
            "patient_id": str(patient.id),
            "messages_scrubbed": getattr(scrubbed, "rowcount", None),
            "replies_scrubbed": replies,
        },
    )
