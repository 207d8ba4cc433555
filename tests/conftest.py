"""Tests run against real databases and Redis; the schema is built by the migrations.

`TEST_DATABASE_URL` picks the database (default: a fresh SQLite file); CI runs the suite
once on SQLite and once on PostgreSQL. `TEST_REDIS_URL` defaults to database 15.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from alembic import command
from arq.connections import ArqRedis, RedisSettings, create_pool
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cli import alembic_config
from app.core import secrets
from app.core.clock import FixedClock
from app.core.config import Environment, Settings
from app.core.db import create_engine, create_sessionmaker
from app.main import create_app
from app.tables import metadata

ADMIN_TOKEN = "test-admin-token"
# One key for the session's secrets at rest, also handed to the worker processes some
# tests start (they inherit the environment).
TEST_SECRETS_KEYS = Fernet.generate_key().decode()
os.environ["SECRETS_KEYS"] = TEST_SECRETS_KEYS
secrets.configure(SecretStr(TEST_SECRETS_KEYS))
# A Monday in winter time, inside the default send window.
START_TIME = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _reset_postgres_schema(url: str) -> None:
    async def reset() -> None:
        engine = create_engine(Settings(database_url=url))
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


def _autocommit(url: str, statement: str) -> None:
    async def run() -> None:
        engine = create_engine(Settings(database_url=url))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
    elif url.startswith("postgresql"):
        _reset_postgres_schema(url)
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture
def scratch_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind, for a test that runs the migrations itself;
    on PostgreSQL it is dropped after."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    _autocommit(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _autocommit(database_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        admin_token=ADMIN_TOKEN,
        public_base_url="https://sms.example.test",
        secrets_keys=SecretStr(TEST_SECRETS_KEYS),
        # The whole suite shares the admin token's window; limits get their own tests.
        admin_rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture(autouse=True)
async def _clean_tables(engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    async with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    """The test Redis database, empty before and after."""
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    await pool.flushdb()
    yield pool
    await pool.flushdb()
    await pool.aclose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_TIME)


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> AsyncIterator[FastAPI]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class ClinicAccess:
    id: uuid.UUID
    key: str
    key_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def create_clinic_access(
    client: httpx.AsyncClient, admin_headers: dict[str, str], name: str
) -> ClinicAccess:
    created = await client.post("/v1/clinics", json={"name": name}, headers=admin_headers)
    assert created.status_code == 201, created.text
    clinic_id = created.json()["id"]
    key = await client.post(f"/v1/clinics/{clinic_id}/api-keys", headers=admin_headers)
    assert key.status_code == 201, key.text
    return ClinicAccess(
        id=uuid.UUID(clinic_id), key=key.json()["key"], key_id=uuid.UUID(key.json()["id"])
    )


@pytest.fixture
async def clinic(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> ClinicAccess:
    return await create_clinic_access(client, admin_headers, "Tannlege Berg")


REPLY_NUMBER = "+4790012345"


@pytest.fixture
async def reply_number(client: httpx.AsyncClient, clinic: ClinicAccess) -> str:
    """The clinic's reply number: marketing and offers go only from one."""
    response = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"reply_number": REPLY_NUMBER}
    )
    assert response.status_code == 200, response.text
    return REPLY_NUMBER


@pytest.fixture
async def other_clinic(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> ClinicAccess:
    return await create_clinic_access(client, admin_headers, "Smil Tannhelse")
