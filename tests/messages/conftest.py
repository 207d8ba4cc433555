from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries.service import DeliveryReport
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess


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
