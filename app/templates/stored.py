"""A clinic's stored template rows, and our default for a type it has none of."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType
from app.templates.models import MessageTemplate


def default_row(
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


async def list_templates(
    session: AsyncSession, *, clinic_id: uuid.UUID, now: datetime
) -> list[MessageTemplate]:
    """All twelve, in the order of `TemplateType`."""
    statement = select(MessageTemplate).where(col(MessageTemplate.clinic_id) == clinic_id)
    stored = {row.type: row for row in (await session.execute(statement)).scalars()}
    return [
        stored.get(template_type.value) or default_row(clinic_id, template_type, now)
        for template_type in TemplateType
    ]
