import uuid
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import ClauseElement, TextClause, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries.service import DeliveryReport
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess

_CLINIC = text(
    "INSERT INTO clinic (id, name, webhook_secret, created_at) VALUES (:id, 'K', 's', now())"
)


async def plan_of(
    engine: AsyncEngine,
    statement: ClauseElement,
    *,
    seed: tuple[uuid.UUID, TextClause, dict[str, Any]] | None = None,
    settings: Sequence[str] = (),
) -> list[str]:
    """The database's plan of `statement`, one line a step, in a transaction rolled back
    after. `seed` first makes a clinic (its id) and its messages (an INSERT and its
    parameters), then analyzes them, as at scale; `settings` are `SET LOCAL`s (PostgreSQL)."""
    postgres = engine.dialect.name == "postgresql"
    compiled = statement.compile(
        dialect=postgresql.dialect() if postgres else sqlite.dialect(),
        compile_kwargs={"literal_binds": True},
    )
    async with engine.connect() as connection:
        if seed is not None:
            clinic_id, messages, parameters = seed
            await connection.execute(_CLINIC, {"id": clinic_id})
            await connection.execute(messages, parameters)
            await connection.execute(text("ANALYZE message, message_search"))
        for setting in settings:
            await connection.execute(text(f"SET LOCAL {setting}"))
        explain = "EXPLAIN" if postgres else "EXPLAIN QUERY PLAN"
        plan = [str(row[-1]) for row in await connection.execute(text(f"{explain} {compiled}"))]
        await connection.rollback()
    return plan


async def put_patient(
    client: httpx.AsyncClient, clinic: ClinicAccess, patient_no: str, **fields: Any
) -> dict[str, Any]:
    body = {"first_name": "Kari", "last_name": "Nordmann", "mobile": "912 34 567"} | fields
    response = await client.put(f"/v1/patients/{patient_no}", headers=clinic.headers, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def patient(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    return await put_patient(client, clinic, "1001", wants_sms=True)


@pytest.fixture
def reports() -> list[DeliveryReport]:
    return []


@pytest.fixture
async def ctx(
    settings: Settings,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    reports: list[DeliveryReport],
) -> AsyncIterator[dict[str, Any]]:
    async def sink(batch: list[DeliveryReport]) -> None:
        reports.extend(batch)

    async with httpx.AsyncClient() as http:
        yield {
            "settings": settings,
            "clock": clock,
            "sessionmaker": sessionmaker,
            "redis": redis,
            "providers": ProviderFactory(settings, http, sink, clock.now),
            "status": SimpleNamespace(worker_id="test-worker"),
        }
