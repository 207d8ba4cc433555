"""`PUT /v1/appointments`: the body's items read one by one, saved together, answered in
order."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.batch import upsert_many
from app.appointments.schemas import AppointmentBatchItem, AppointmentWrite
from app.core.batch import BatchResult, ItemResult, error_result, parse_item
from app.core.errors import FieldError


async def put_appointments(
    session: AsyncSession, *, clinic_id: uuid.UUID, raw: Sequence[Any], now: datetime
) -> BatchResult:
    results: list[ItemResult | None] = []
    valid: list[tuple[int, str, AppointmentWrite]] = []
    for index, item in enumerate(raw):
        item_id, parsed = parse_item(
            AppointmentBatchItem, item, f"appointments.{index}", "appointment_id"
        )
        if isinstance(parsed, list):
            results.append(error_result(index, item_id, parsed))
            continue
        results.append(None)
        valid.append((index, parsed.appointment_id, parsed))
    saved = await upsert_many(
        session,
        clinic_id=clinic_id,
        items=[(appointment_id, data) for _, appointment_id, data in valid],
        now=now,
    )
    for (index, appointment_id, _), outcome in zip(valid, saved, strict=True):
        if isinstance(outcome, FieldError):
            error = FieldError(
                field=f"appointments.{index}.{outcome.field}",
                reason=outcome.reason,
                code=outcome.code,
            )
            results[index] = error_result(index, appointment_id, [error])
        else:
            results[index] = ItemResult(index=index, id=appointment_id, outcome=outcome.outcome)
    return BatchResult.of([result for result in results if result is not None])
