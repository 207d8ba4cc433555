"""Real processes for the tests that kill things: a scratch PostgreSQL database, worker
processes started as in production, and a Redis server of a test's own."""

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.cli import alembic_config
from app.core.config import Settings
from app.core.db import create_engine

ROOT = Path(__file__).resolve().parent.parent.parent
LINK_CREDENTIALS = {
    "username": "user",
    "password": "secret",
    "platform_id": "COMMON_API",
    "platform_partner_id": "1234",
}


def postgres_scratch_database(prefix: str) -> Iterator[str]:
    """For a module fixture: a scratch database beside TEST_DATABASE_URL's, or a skip."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip(f"the {prefix} test runs on PostgreSQL (TEST_DATABASE_URL)")
    with scratch_postgres_database(base, prefix) as url:
        yield url


@contextmanager
def scratch_postgres_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new, migrated database beside `base_url`'s, dropped afterwards."""
    url = make_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server_url = url.set(database="postgres").render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        engine = create_engine(Settings(database_url=server_url))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    scratch_url = url.set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(scratch_url), "head")
    try:
        yield scratch_url
    finally:
        asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def start_worker(settings: Settings, admin_token: str) -> subprocess.Popen[bytes]:
    """`python -m app.worker`, configured from `settings` as the environment would."""
    environment = os.environ | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ADMIN_TOKEN": admin_token,
        "LINKMOBILITY_BASE_URL": settings.linkmobility_base_url,
        "SEND_BATCH_SIZE": str(settings.send_batch_size),
        "SENDING_STALE_SECONDS": str(settings.sending_stale_seconds),
        "SWEEP_INTERVAL_SECONDS": str(settings.sweep_interval_seconds),
        "HEARTBEAT_INTERVAL_SECONDS": str(settings.heartbeat_interval_seconds),
        "WORKER_DEAD_AFTER_SECONDS": str(settings.worker_dead_after_seconds),
        "LOG_LEVEL": os.environ.get("WORKER_LOG_LEVEL", "WARNING"),
    }
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "app.worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["WORKER_LOG"], "ab")
        if "WORKER_LOG" in os.environ
        else subprocess.DEVNULL,
    )


async def poll(check: Callable[[], Awaitable[bool]], within: float, interval: float) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not get there in time")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class RedisServer:
    """A `redis-server` of the test's own, to stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server") or "redis-server"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
