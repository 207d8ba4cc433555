"""Kill real workers mid-run and prove at-most-once sending (DESIGN §10).

Run alone: `make test-crash` (PostgreSQL and Redis). 2,000 messages due now go through
the LINK adapter to a local server that counts what it receives; workers are killed with
SIGKILL several times mid-run and Redis is flushed once. At the end every message is in
a final state, the server received each at most once, and every message whose outcome was
lost is marked sent with delivery `unknown` rather than sent again.
"""

import asyncio
import random
import signal
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis
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
    poll,
    postgres_scratch_database,
    start_worker,
)

pytestmark = pytest.mark.crash

MESSAGES = 2_000
REDIS_URL = "redis://127.0.0.1:6379/13"
ADMIN_TOKEN = "crash-admin-token"


@pytest.fixture(scope="module")
def crash_database_url() -> Iterator[str]:
    yield from postgres_scratch_database("crash")


@pytest.fixture
def link_server() -> Iterator[FakeLinkServer]:
    server = FakeLinkServer(delay_seconds=0.05).start()
    yield server
    server.stop()


@pytest.fixture
def crash_settings(crash_database_url: str, link_server: FakeLinkServer) -> Settings:
    redis.Redis.from_url(REDIS_URL).flushdb()
    return Settings(
        database_url=crash_database_url,
        redis_url=REDIS_URL,
        admin_token=ADMIN_TOKEN,
        linkmobility_base_url=link_server.url,
        send_batch_size=50,
        sending_stale_seconds=3,
        sweep_interval_seconds=15,
        heartbeat_interval_seconds=5,
        worker_dead_after_seconds=12,
    )


@pytest.fixture
async def crash_engine(crash_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(crash_settings)
    yield engine
    await engine.dispose()


async def _clinic_with_patients(engine: AsyncEngine) -> str:
    async for session in session_scope(create_sessionmaker(engine)):
        clinic = await clinic_service.create_clinic(session, name="Krasj Tannklinikk")
        _, key = await clinic_service.create_api_key(session, clinic_id=clinic.id, name="crash")
        await session.execute(
            update(ClinicSettings)
            .where(ClinicSettings.clinic_id == clinic.id)  # type: ignore[arg-type]
            .values(
                provider="linkmobility",
                provider_credentials={"linkmobility": LINK_CREDENTIALS},
                sender_name="Krasj",
                pause_saturday=False,
                pause_sunday=False,
                night_start=None,
                night_end=None,
            )
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
                    "mobile": f"+4791{n:06d}",
                    "wants_sms": True,
                    "guardians": [],
                    "search_text": "kari",
                }
                for n in range(MESSAGES)
            ],
        )
    return key


async def _queue_messages(settings: Settings, key: str) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crash") as client:
            response = await client.post(
                "/v1/messages/bulk",
                headers={"Authorization": f"Bearer {key}"},
                json={"patient_nos": [f"{n:05d}" for n in range(MESSAGES)], "text": "Hei!"},
            )
    assert response.json()["queued"] == MESSAGES, response.text


async def _kill_mid_run(settings: Settings, server: FakeLinkServer, after: int) -> None:
    """Start a worker, let it send `after` more messages, then SIGKILL it mid-request."""
    worker = start_worker(settings, ADMIN_TOKEN)
    target = server.total() + after

    async def sent_enough() -> bool:
        return server.total() >= target

    await poll(sent_enough, within=60, interval=0.01)
    await asyncio.sleep(random.uniform(0.0, 0.04))
    worker.send_signal(signal.SIGKILL)
    worker.wait()


async def _unfinished(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        statement = select(func.count()).where(
            Message.status.in_(["pending", "sending"])  # type: ignore[attr-defined]
        )
        return int((await connection.execute(statement)).scalar_one())


async def test_killed_workers_never_send_a_message_twice(
    crash_settings: Settings, crash_engine: AsyncEngine, link_server: FakeLinkServer
) -> None:
    key = await _clinic_with_patients(crash_engine)
    await _queue_messages(crash_settings, key)

    for round_number in range(4):
        await _kill_mid_run(crash_settings, link_server, after=150)
        if round_number == 1:
            redis.Redis.from_url(REDIS_URL).flushdb()

    worker = start_worker(crash_settings, ADMIN_TOKEN)
    try:

        async def all_final() -> bool:
            return await _unfinished(crash_engine) == 0

        await poll(all_final, within=120, interval=0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    async with crash_engine.connect() as connection:
        rows = (
            await connection.execute(select(Message.id, Message.status, Message.delivery))  # type: ignore[call-overload]
        ).all()
    states = {str(message_id): (status, delivery) for message_id, status, delivery in rows}

    assert len(states) == MESSAGES
    assert {status for status, _ in states.values()} == {"sent"}, "every message ends sent"
    assert max(link_server.received.values()) == 1, "a message reached the provider twice"
    assert set(link_server.received) <= set(states)
    unknown = {mid for mid, (_, delivery) in states.items() if delivery == "unknown"}
    accepted = {mid for mid, (_, delivery) in states.items() if delivery == "accepted"}
    assert accepted <= set(link_server.received)
    assert unknown, "the kills should have caught messages in flight"
    assert set(states) == accepted | unknown
    never_received = set(states) - set(link_server.received)
    assert never_received <= unknown, "a message not sent must not claim to be accepted"
