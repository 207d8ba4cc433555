"""Reading a clinic's rules. Reads never write: a clinic without a row has the defaults
until it saves its rules."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.reminder_rules.models import ReminderRules


async def get_rules(session: AsyncSession, clinic_id: uuid.UUID) -> ReminderRules:
    """The clinic's rules (the defaults, unsaved, if it never saved any)."""
    row = await session.get(ReminderRules, clinic_id)
    return row if row is not None else ReminderRules(clinic_id=clinic_id)
