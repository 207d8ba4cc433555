"""A patient's erasure and the reminders they shared with others (one per person per day):
the others keep theirs, without the erased patient in it."""

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import grouping
from app.appointments.composer import Composer
from app.appointments.messaging import load_context
from app.appointments.models import message_appointment_table
from app.messages.models import MessageStatus, message_table

_link = message_appointment_table.c
_message = message_table.c


async def release_shared(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient_id: uuid.UUID, now: datetime
) -> None:
    """Take the patient's appointments out of the shared messages still waiting (rendered
    again for the others), scrub the text of those that went (it names the patient), and
    remove the patient's rows in `message_appointment`."""
    statement = (
        select(_link.message_id, _link.appointment_id, _message.status)
        .join(message_table, _message.id == _link.message_id)
        .where(_link.clinic_id == clinic_id, _link.patient_id == patient_id)
    )
    rows = (await session.execute(statement)).all()
    if not rows:
        return
    waiting = [row for row in rows if row.status == MessageStatus.PENDING]
    if waiting:
        composer = Composer(await load_context(session, clinic_id, now))
        for row in waiting:
            await grouping.detach(session, composer, row.message_id, row.appointment_id)
    went = {row.message_id for row in rows if row.status != MessageStatus.PENDING}
    if went:
        await session.execute(
            update(message_table)
            .where(_message.clinic_id == clinic_id, _message.id.in_(went))
            .values(text=None, text_source=None, erased_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        delete(message_appointment_table).where(
            _link.clinic_id == clinic_id, _link.patient_id == patient_id
        )
    )
