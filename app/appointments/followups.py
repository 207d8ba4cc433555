"""Appointments that follow a patient change: what was skipped for the recipient is
decided again when the patient's number or consent changes."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.appointments.messaging import AppointmentView, load_context, with_messages
from app.appointments.models import Appointment, AppointmentStatus
from app.appointments.scheduling import RECIPIENT_REASONS, Kind, push_of
from app.appointments.service import schedule
from app.patients.models import Patient


async def schedule_skipped(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient: Patient, now: datetime
) -> None:
    """The patient's number or consent changed: their booked appointments still ahead get
    what was skipped for the recipient, with the usual rules (pauses, minimum lead time)."""
    statement = (
        select(Appointment)
        .where(
            col(Appointment.clinic_id) == clinic_id,
            col(Appointment.patient_id) == patient.id,
            col(Appointment.status) == AppointmentStatus.BOOKED,
            col(Appointment.start_at) > now,
        )
        .order_by(col(Appointment.start_at))
        .with_for_update()
    )
    views = [
        AppointmentView(appointment, patient.patient_no)
        for appointment in (await session.execute(statement)).scalars()
    ]
    if not views:
        return
    context = await load_context(session, clinic_id, now)
    for view in await with_messages(session, clinic_id, views):
        appointment = view.appointment
        push = push_of(appointment, AppointmentStatus(appointment.status))
        booking = view.decided.get(Kind.BOOKING_CONFIRMATION)
        skipped = booking is not None and booking.start_at == appointment.start_at
        skipped = skipped and booking is not None and booking.skip_reason in RECIPIENT_REASONS
        again = frozenset({Kind.BOOKING_CONFIRMATION.value}) if skipped else frozenset()
        await schedule(session, context, view, patient, push, False, again)
