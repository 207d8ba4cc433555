from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.main import create_app
from tests.support.workers import record_beat


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_with_database_redis_and_a_worker(
    client: httpx.AsyncClient, clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await record_beat(sessionmaker, host="worker-1", at=clock.now() - timedelta(seconds=5))
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "worker": "ok"},
        "worker_heartbeat_age_seconds": 5.0,
    }


async def test_readyz_fails_without_a_worker(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "error: no worker has ever beaten"
    assert response.json()["worker_heartbeat_age_seconds"] is None


async def test_readyz_fails_when_the_newest_heartbeat_is_too_old(
    client: httpx.AsyncClient,
    clock: FixedClock,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    limit = settings.worker_dead_after_seconds
    await record_beat(sessionmaker, host="old", at=clock.now() - timedelta(seconds=limit + 1))
    await record_beat(sessionmaker, host="newest", at=clock.now() - timedelta(seconds=limit))
    assert (await client.get("/readyz")).status_code == 200
    clock.advance(seconds=1)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == f"error: no worker heartbeat for {limit + 1} s"
    assert response.json()["worker_heartbeat_age_seconds"] == limit + 1


@pytest.fixture
async def app_without_redis(settings: Settings, clock: FixedClock) -> AsyncIterator[FastAPI]:
    # Port 1 on loopback refuses connections: a Redis that is down.
    dead = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(dead, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


async def test_readyz_reports_a_dead_redis(app_without_redis: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app_without_redis)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


@pytest.fixture
async def app_without_database(settings: Settings, clock: FixedClock) -> AsyncIterator[FastAPI]:
    dead = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}
    )
    app = create_app(dead, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


async def test_readyz_reports_a_dead_database(app_without_database: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app_without_database)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("error")
    assert response.json()["checks"]["redis"] == "ok"
