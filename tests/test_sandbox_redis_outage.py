"""Kill a real Redis while the sandbox sends: every message still ends delivered, since
the sandbox's reports live in the database and the sweep applies what Redis lost.

Run with the crash tests (`-m crash`, PostgreSQL): it starts its own `redis-server` on
port 6390 and a real worker, and takes about half a minute.
"""

import asyncio
import shutil
import signal
import subprocess
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
from tests.test_crash import (
    ADMIN_TOKEN,
    _poll,
    _start_worker,
    crash_database_url,
)

pytestmark = pytest.mark.crash
__all__ = ["crash_database_url"]  # a fixture

PORT = 6390
MESSAGES = 400


def _start_redis() -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server")
    return subprocess.Popen(
        [server, "--port", str(PORT), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def redis_server() -> Iterator[list[subprocess.Popen[bytes]]]:
    servers = [_start_redis()]
    yield servers
    for server in servers:
        if server.poll() is None:
            server.terminate()
            server.wait()


@pytest.fixture
def outage_settings(crash_database_url: str) -> Settings:
    return Settings(
        database_url=crash_database_url,
        redis_url=f"redis://127.0.0.1:{PORT}/0",
        admin_token=ADMIN_TOKEN,
        send_batch_size=20,
        sweep_interval_seconds=15,
    )


@pytest.fixture
async def outage_engine(outage_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(outage_settings)
    yield engine
    await engine.dispose()


async def _sandbox_clinic(engine: AsyncEngine) -> str:
    async for session in session_scope(create_sessionmaker(engine)):
        clinic = await clinic_service.create_clinic(session, name="Sandkasse Tannklinikk")
        _, key = await clinic_service.create_api_key(session, clinic_id=clinic.id, name="outage")
        await session.execute(
            update(ClinicSettings)
            .where(ClinicSettings.clinic_id == clinic.id)  # type: ignore[arg-type]
            .values(pause_saturday=False, pause_sunday=False, night_start=None, night_end=None)
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


async def _queue(settings: Settings, key: str) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://outage") as client:
            response = await client.post(
                "/v1/messages/bulk",
                headers={"Authorization": f"Bearer {key}"},
                json={"patient_nos": [f"{n:05d}" for n in range(MESSAGES)], "text": "Hei!"},
            )
    assert response.json()["queued"] == MESSAGES, response.text


async def _states(engine: AsyncEngine) -> dict[tuple[str, str | None], int]:
    statement = select(Message.status, Message.delivery, func.count()).group_by(  # type: ignore[call-overload]
        Message.status, Message.delivery
    )
    async with engine.connect() as connection:
        return {
            (status, delivery): n for status, delivery, n in await connection.execute(statement)
        }


async def _count(engine: AsyncEngine, **where: str) -> int:
    statement = select(func.count()).select_from(Message)
    for column, value in where.items():
        statement = statement.where(getattr(Message, column) == value)
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def test_every_sandbox_message_is_delivered_across_a_redis_outage(
    outage_settings: Settings,
    outage_engine: AsyncEngine,
    redis_server: list[subprocess.Popen[bytes]],
) -> None:
    key = await _sandbox_clinic(outage_engine)
    worker = _start_worker(outage_settings)
    try:
        await asyncio.sleep(3)
        await _queue(outage_settings, key)

        async def some_sent() -> bool:
            return await _count(outage_engine, status="sent") >= 20

        await _poll(some_sent, within=60, interval=0.05)
        redis_server[0].send_signal(signal.SIGKILL)
        redis_server[0].wait()
        await asyncio.sleep(5)
        redis_server.append(_start_redis())
        if worker.poll() is not None:  # arq exits when Redis goes; a supervisor restarts it
            worker = _start_worker(outage_settings)

        async def all_delivered() -> bool:
            return await _count(outage_engine, delivery="delivered") == MESSAGES

        try:
            await _poll(all_delivered, within=90, interval=0.5)
        except TimeoutError:
            pytest.fail(f"not all delivered: {await _states(outage_engine)}")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert await _count(outage_engine, status="sent") == MESSAGES
