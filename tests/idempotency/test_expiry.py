from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from app.core.clock import FixedClock
from app.core.config import Settings
from app.idempotency import tasks
from app.idempotency.models import IdempotencyRecord
from tests.conftest import ClinicAccess

BODY = {"to": "+4791234567", "text": "Hei"}


async def _keys(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        records = (await session.execute(select(IdempotencyRecord))).scalars()
        return sorted(record.key for record in records)


async def test_an_expired_key_is_not_replayed(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    headers = {**clinic.headers, "Idempotency-Key": "k-1"}
    first = await client.post("/v1/messages", headers=headers, json=BODY)
    clock.advance(hours=23, minutes=59)
    replay = await client.post("/v1/messages", headers=headers, json=BODY)
    assert replay.headers.get("idempotent-replayed") == "true"
    clock.advance(minutes=1)
    again = await client.post("/v1/messages", headers=headers, json=BODY)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["data"][0]["id"] != first.json()["data"][0]["id"]


@pytest.fixture
def ctx(
    settings: Settings, clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    return {"settings": settings, "clock": clock, "sessionmaker": sessionmaker}


async def test_the_sweep_deletes_expired_records_in_batches(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "BATCH_SIZE", 2)
    for key in ("a", "b", "c"):
        headers = {**clinic.headers, "Idempotency-Key": key}
        assert (await client.post("/v1/messages", headers=headers, json=BODY)).status_code == 201
    clock.advance(hours=1)
    headers = {**clinic.headers, "Idempotency-Key": "fresh"}
    assert (await client.post("/v1/messages", headers=headers, json=BODY)).status_code == 201
    clock.advance(hours=23)
    assert await tasks.sweep(ctx) == {"deleted": 3}
    assert await _keys(sessionmaker) == ["fresh"]
    assert await tasks.sweep(ctx) == {"deleted": 0}
