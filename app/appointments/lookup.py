"""Reading one appointment and its merge values: used by messages and template previews too,
so it imports nothing that imports them."""

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.appointments.models import Appointment
from app.templates.merge import format_appointment_time


async def find_appointment(
    session: AsyncSession, *, clinic_id: uuid.UUID, appointment_id: str, for_update: bool = False
) -> Appointment | None:
    statement = select(Appointment).where(
        col(Appointment.clinic_id) == clinic_id, col(Appointment.appointment_id) == appointment_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


def appointment_merge_values(appointment: Appointment, tz: ZoneInfo) -> dict[str, str]:
    """[Tidspunkt] in the clinic's zone, in Norwegian words, and [Behandler]."""
    return {
        "Tidspunkt": format_appointment_time(appointment.start_at, tz),
        "Behandler": appointment.practitioner,
    }
