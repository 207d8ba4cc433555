"""Redis goes away for 15 s while messages are created and sent (issue 13).

Run with the crash test (`make test-crash`: PostgreSQL). One worker process, started as
in production (`python -m app.worker`), sends to a local LINK server that counts what it
receives and, for a second clinic, through the sandbox. Redis is killed mid-run and
started again empty. The same worker process must then send every message exactly once,
sandbox deliveries included, and be sending again within 10 s of Redis's return.
"""

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clinic_settings.models import ClinicSettings
from app.clinics import service as clinic_service
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker, session_scope
from app.main import create_app
from app.messages.models import Message
from app.patients.models import Patient
from tests.support.link_server import FakeLinkServer
from tests.support.processes import (
    LINK_CREDENTIALS,
    RedisServer,
    poll,
    postgres_scratch_database,
    start_worker,
)

pytestmark = pytest.mark.crash

ADMIN_TOKEN = "outage-admin-token"
OUTAGE_SECONDS = 15
WAVE = 150
NO_PAUSES = {"pause_saturday": False, "pause_sunday": False, "night_start": None, "night_end": None}


@pytest.fixture(scope="module")
def outage_database_url() -> Iterator[str]:
    yield from postgres_scratch_database("outage")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.kill()


@pytest.fixture
def link_server() -> Iterator[FakeLinkServer]:
    server = FakeLinkServer(delay_seconds=0.02).start()
    yield server
    server.stop()


@pytest.fixture
def outage_settings(
    outage_database_url: str, redis_server: RedisServer, link_server: FakeLinkServer
) -> Settings:
    return Settings(
        database_url=outage_database_url,
        redis_url=redis_server.url,
        admin_token=ADMIN_TOKEN,
        linkmobility_base_url=link_server.url,
        send_batch_size=25,
        sweep_interval_seconds=15,
        heartbeat_interval_seconds=5,
    )


@pytest.fixture
async def engine(outage_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(outage_settings)
    yield engine
    await engine.dispose()


async def _clinic(
    engine: AsyncEngine, name: str, provider: dict[str, object]
) -> tuple[uuid.UUID, str]:
    async for session in session_scope(create_sessionmaker(engine)):
        clinic = await clinic_service.create_clinic(session, name=name)
        _, key = await clinic_service.create_api_key(session, clinic_id=clinic.id, name="outage")
        await session.execute(
            update(ClinicSettings)
            .where(ClinicSettings.clinic_id == clinic.id)  # type: ignore[arg-type]
            .values(sender_name="Klinikk", **NO_PAUSES, **provider)
        )
        await session.execute(
            insert(Patient),
            [
                {
                    "id": uuid.uuid4(),
                    "clinic_id": clinic.id,
                    "patient_no": f"{n:05d}",
                    "first_name": "Kari",
                    "last_name": f"Nordmann {n}",
                    "mobile": f"+4792{n:06d}",
                    "wants_sms": True,
                    "guardians": [],
                    "search_text": "kari",
                }
                for n in range(3 * WAVE)
            ],
        )
    return clinic.id, key


async def _send_wave(client: httpx.AsyncClient, key: str, wave: int) -> None:
    numbers = [f"{n:05d}" for n in range(wave * WAVE, (wave + 1) * WAVE)]
    response = await client.post(
        "/v1/messages/bulk",
        headers={"Authorization": f"Bearer {key}"},
        json={"patient_nos": numbers, "text": f"Hei! Bølge {wave}."},
    )
    assert response.status_code == 200, response.status_code
    assert response.json()["queued"] == WAVE


async def _states(engine: AsyncEngine, clinic_id: uuid.UUID) -> list[tuple[str, str | None, int]]:
    async with engine.connect() as connection:
        statement = select(Message.status, Message.delivery, Message.attempts).where(  # type: ignore[call-overload]
            Message.clinic_id == clinic_id
        )
        return [(row[0], row[1], row[2]) for row in (await connection.execute(statement)).all()]


async def _unfinished(engine: AsyncEngine, sandbox_clinic: uuid.UUID) -> int:
    """Unsent messages, and sandbox messages still waiting for their delivery report (the
    LINK stand-in sends none)."""
    waiting_for_report = (Message.clinic_id == sandbox_clinic) & (Message.delivery == "accepted")
    async with engine.connect() as connection:
        statement = select(func.count()).where(
            Message.status.in_(["pending", "sending"]) | waiting_for_report  # type: ignore[attr-defined]
        )
        return int((await connection.execute(statement)).scalar_one())


async def test_one_worker_sends_everything_once_through_a_redis_outage(
    outage_settings: Settings,
    engine: AsyncEngine,
    redis_server: RedisServer,
    link_server: FakeLinkServer,
) -> None:
    link_clinic, link_key = await _clinic(
        engine,
        "Tannlege LINK",
        {"provider": "linkmobility", "provider_credentials": {"linkmobility": LINK_CREDENTIALS}},
    )
    sandbox_clinic, sandbox_key = await _clinic(
        engine, "Tannlege Sandkasse", {"provider": "sandbox"}
    )
    worker = start_worker(outage_settings, ADMIN_TOKEN)
    app = create_app(outage_settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://outage") as client:
                for key in (link_key, sandbox_key):
                    await _send_wave(client, key, 0)

                async def first_wave_done() -> bool:
                    return await _unfinished(engine, sandbox_clinic) == 0

                await poll(first_wave_done, within=30, interval=0.1)
                redis_server.kill()
                # The API keeps taking messages while Redis is down (the database holds
                # them), after the worker's last job has ended: their wake-ups are lost.
                await asyncio.sleep(2)
                for key in (link_key, sandbox_key):
                    await _send_wave(client, key, 1)
                await asyncio.sleep(OUTAGE_SECONDS - 2)
                assert worker.poll() is None, "the worker exited during the Redis outage"
                received_before_return = link_server.total()
                redis_server.start()
                back = time.monotonic()

                async def sending_again() -> bool:
                    return link_server.total() > received_before_return

                await poll(sending_again, within=10, interval=0.05)
                resumed_after = time.monotonic() - back
                for key in (link_key, sandbox_key):
                    await _send_wave(client, key, 2)

        async def all_final() -> bool:
            return await _unfinished(engine, sandbox_clinic) == 0

        await poll(all_final, within=90, interval=0.5)
        assert worker.poll() is None, "the same worker process did all of it"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    link_states = await _states(engine, link_clinic)
    sandbox_states = await _states(engine, sandbox_clinic)
    assert len(link_states) == len(sandbox_states) == 3 * WAVE
    assert set(link_states) == {("sent", "accepted", 1)}
    assert set(sandbox_states) == {("sent", "delivered", 1)}
    assert len(link_server.received) == 3 * WAVE
    assert max(link_server.received.values()) == 1, "a message reached LINK twice"
    assert resumed_after < 10
