"""`Idempotency-Key` for POSTs: the same key and body replays the first answer."""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, InvalidInput
from app.idempotency.models import IdempotencyRecord

REPLAY_HEADER = "Idempotent-Replayed"


def request_fingerprint(path: str, body: BaseModel) -> str:
    return hashlib.sha256(f"{path}\n{body.model_dump_json()}".encode()).hexdigest()


async def run_once(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    key: str | None,
    fingerprint: str,
    status_code: int,
    now: datetime,
    ttl: timedelta,
    handler: Callable[[], Awaitable[BaseModel]],
) -> Response:
    """Run `handler` unless this key was used within `ttl`; store its answer with the key.
    An expired record is never replayed: the key starts afresh."""
    if key is None:
        answer = await handler()
        return Response(answer.model_dump_json(), status_code, media_type="application/json")
    record = await session.get(IdempotencyRecord, (clinic_id, key))
    if record is not None and record.created_at <= now - ttl:
        await session.delete(record)
        await session.flush()
        record = None
    if record is not None:
        if record.request_hash != fingerprint:
            raise InvalidInput.for_field(
                "Idempotency-Key", "this key was used with a different request", "key_reused"
            )
        return _json(record.status_code, record.response_body, {REPLAY_HEADER: "true"})
    body = (await handler()).model_dump(mode="json")
    session.add(
        IdempotencyRecord(
            clinic_id=clinic_id,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            response_body=body,
            created_at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A request with this Idempotency-Key is being handled; retry.") from exc
    return _json(status_code, body)


def _json(
    status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=headers)
