"""`Idempotency-Key` for POSTs: the same key and body replays the first answer.

The key's row is inserted before the handler runs, in the request's transaction, so a
second request with the same key arriving meanwhile waits on that row (PostgreSQL's
unique index; SQLite's single writer) until the first commits, then replays its answer.
If the first fails, its row goes with its rollback and the second runs itself. The wait
is bounded (`IDEMPOTENCY_WAIT_SECONDS`); past it the answer is 409.
"""

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.db import SQLITE_BUSY_TIMEOUT_MS
from app.core.errors import Conflict, InvalidInput
from app.idempotency.models import IdempotencyRecord

REPLAY_HEADER = "Idempotent-Replayed"
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


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
    wait_seconds: float,
) -> Response:
    """Run `handler` unless this key was used within `ttl`; store its answer with the key.
    An expired record is never replayed: the key starts afresh."""
    if key is None:
        answer = await handler()
        return Response(answer.model_dump_json(), status_code, media_type="application/json")
    if not await _claim(
        session, clinic_id, key, fingerprint, status_code, now - ttl, now, wait_seconds
    ):
        return _replay(await _stored(session, clinic_id, key), fingerprint)
    body = (await handler()).model_dump(mode="json")
    await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.clinic_id == clinic_id,  # type: ignore[arg-type]
            IdempotencyRecord.key == key,  # type: ignore[arg-type]
        )
        .values(response_body=body)
    )
    return JSONResponse(body, status_code=status_code)


async def _claim(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    key: str,
    fingerprint: str,
    status_code: int,
    expired_before: datetime,
    now: datetime,
    wait_seconds: float,
) -> bool:
    """Insert the key's row; False when another request already holds it (after waiting
    for that request's transaction to end). An expired row is never replayed: it goes
    first, and the key starts afresh."""
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(IdempotencyRecord)
        .values(
            clinic_id=clinic_id,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            response_body={},
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["clinic_id", "key"])
    )
    try:
        async with _lock_wait_bound(connection, wait_seconds):
            await connection.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.clinic_id == clinic_id,  # type: ignore[arg-type]
                    IdempotencyRecord.key == key,  # type: ignore[arg-type]
                    IdempotencyRecord.created_at <= expired_before,  # type: ignore[arg-type]
                )
            )
            result = await connection.execute(statement)
    except DBAPIError as exc:
        if not _is_lock_timeout(exc):
            raise
        raise Conflict(
            f"Another request with this Idempotency-Key has been running for over "
            f"{wait_seconds:g} s; retry later to get its answer.",
            headers={"Retry-After": "1"},
        ) from exc
    return bool(result.rowcount)


@asynccontextmanager
async def _lock_wait_bound(connection: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    milliseconds = max(1, round(seconds * 1000))
    if connection.dialect.name == "postgresql":
        await connection.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
        yield
        await connection.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
        return
    await connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
    try:
        yield
    finally:
        await connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def _is_lock_timeout(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(exc.orig)


async def _stored(session: AsyncSession, clinic_id: uuid.UUID, key: str) -> IdempotencyRecord:
    record = await session.get(IdempotencyRecord, (clinic_id, key), populate_existing=True)
    assert record is not None, "a conflicting key row is committed before it is seen"
    return record


def _replay(record: IdempotencyRecord, fingerprint: str) -> JSONResponse:
    if record.request_hash != fingerprint:
        raise InvalidInput.for_field(
            "Idempotency-Key", "this key was used with a different request", "key_reused"
        )
    return JSONResponse(
        record.response_body, status_code=record.status_code, headers={REPLAY_HEADER: "true"}
    )
