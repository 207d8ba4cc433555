"""Stored idempotent answers lose an erased patient's personal data."""

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.idempotency.models import IdempotencyRecord


def _scrub(value: Any, exact: frozenset[str], contained: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {key: _scrub(item, exact, contained) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, exact, contained) for item in value]
    if isinstance(value, str) and (value in exact or any(part in value for part in contained)):
        return None
    return value


def _json_string(value: str, ascii_only: bool) -> str:
    """As stored JSON holds it: SQLite keeps Python's escapes, PostgreSQL the characters."""
    return json.dumps(value, ensure_ascii=ascii_only)


async def erase_idempotent_answers(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    markers: Iterable[str],
    exact: Iterable[str],
    contained: Iterable[str],
    whole: Iterable[str] = (),
) -> int:
    """Blank every string in this clinic's stored answers that equals one of `exact` or
    contains one of `contained`, in the answers that mention one of `markers` (message ids,
    numbers, names: unique enough to find the records without false hits) or hold one of
    `whole` as a whole JSON string (a patient number, too short to look for as a part: a
    skipped bulk outcome names the patient by it alone). The records stay, so a retried
    request is still answered, not run a second time."""
    quoted = {_json_string(value, ascii_only) for value in whole for ascii_only in (True, False)}
    needles = [marker for marker in {*markers, *contained, *quoted} if marker]
    if not needles:
        return 0
    body_text = cast(col(IdempotencyRecord.response_body), String)
    records = (
        await session.execute(
            select(col(IdempotencyRecord.key), col(IdempotencyRecord.response_body)).where(
                col(IdempotencyRecord.clinic_id) == clinic_id,
                or_(*(body_text.contains(needle, autoescape=True) for needle in needles)),
            )
        )
    ).all()
    exact_set = frozenset(item for item in exact if item)
    parts = tuple(item for item in contained if item)
    for key, body in records:
        await session.execute(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.clinic_id) == clinic_id, col(IdempotencyRecord.key) == key)
            .values(response_body=_scrub(body, exact_set, parts))
            .execution_options(synchronize_session=False)
        )
    return len(records)
