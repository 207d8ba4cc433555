"""`PUT /v1/appointments`: the body's items read one by one, saved together, answered in
order."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.batch import upsert_many
from app.appointments.schemas import AppointmentBatchItem
from app.core.batch import BatchResult, parse_items
from app.core.errors import FieldError


async def put_appointments(
    session: AsyncSession, *, clinic_id: uuid.UUID, raw: Sequence[Any], now: datetime
) -> BatchResult:
    parsed = parse_items(AppointmentBatchItem, raw, "appointments", "appointment_id")
    saved = await upsert_many(
        session,
        clinic_id=clinic_id,
        items=[(appointment_id, data) for _, appointment_id, data in parsed.valid],
        now=now,
    )
    return parsed.answer(
        [[result] if isinstance(result, FieldError) else result.outcome for result in saved]
    )
