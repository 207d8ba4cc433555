"""A request that lost a race in PostgreSQL (rolled back whole) answers 503 `busy` with
Retry-After; any other database error stays a 500."""

import json
import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from app.core.errors import _handle_database_error


async def _lock_timeout(engine: AsyncEngine) -> DBAPIError:
    """PostgreSQL's own error for a lock not had within `lock_timeout` (55P03)."""
    async with engine.connect() as holder, engine.connect() as waiter:
        key = {"key": secrets.randbits(62)}
        await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)
        await waiter.execute(text("SET LOCAL lock_timeout = '50ms'"))
        with pytest.raises(DBAPIError) as raised:
            await waiter.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)
        await holder.rollback()
        await waiter.rollback()
    return raised.value


async def test_a_lock_timeout_answers_busy(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no lock_timeout")
    error = await _lock_timeout(engine)
    assert getattr(error.orig, "sqlstate", None) == "55P03"
    answer = await _handle_database_error(Request({"type": "http"}), error)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert json.loads(bytes(answer.body))["type"].endswith("/busy")


async def test_another_database_error_is_not_busy(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(text("SELECT * FROM no_such_table"))
    with pytest.raises(DBAPIError):
        await _handle_database_error(Request({"type": "http"}), raised.value)
