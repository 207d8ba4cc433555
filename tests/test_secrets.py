"""Provider credentials at rest are Fernet tokens: read the rows directly, find no secret."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alembic import command
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    Table,
    Time,
    Uuid,
    insert,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import alembic_config, rotate_secrets
from app.core import secrets
from app.core.config import Environment, Settings
from app.core.db import create_engine
from tests.conftest import TEST_SECRETS_KEYS, ClinicAccess

CREDENTIALS = {"sinch": {"service_plan_id": "plan-berg-1", "api_token": "sinch-token-hemmelig"}}


@pytest.fixture
def restore_keys() -> Iterator[None]:
    yield
    secrets.configure(SecretStr(TEST_SECRETS_KEYS))


async def _stored_credentials(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT provider_credentials FROM clinic_settings"))
        return [row[0] for row in rows]


async def test_no_credential_is_stored_in_the_clear(
    client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine
) -> None:
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"provider": "sinch", "provider_credentials": CREDENTIALS},
    )
    assert response.status_code == 200
    [stored] = await _stored_credentials(engine)
    assert "sinch-token-hemmelig" not in stored
    assert "plan-berg-1" not in stored
    assert json.loads(secrets.unseal(stored)) == CREDENTIALS
    body = (await client.get("/v1/settings", headers=clinic.headers)).json()
    assert body["credentials_set"]["sinch"] == ["api_token", "service_plan_id"]


async def test_a_rotated_key_still_opens_old_secrets_and_rotation_reseals_them(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    engine: AsyncEngine,
    settings: Settings,
    restore_keys: None,
) -> None:
    await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"provider": "sinch", "provider_credentials": CREDENTIALS},
    )
    new_key = Fernet.generate_key().decode()
    rotated = SecretStr(f"{new_key},{TEST_SECRETS_KEYS}")
    secrets.configure(rotated)
    assert (await client.get("/v1/settings", headers=clinic.headers)).status_code == 200

    assert await rotate_secrets(settings.model_copy(update={"secrets_keys": rotated})) == 1
    secrets.configure(SecretStr(new_key))  # the old key dropped
    [stored] = await _stored_credentials(engine)
    assert json.loads(secrets.unseal(stored)) == CREDENTIALS


def test_a_malformed_key_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="SECRETS_KEYS"):
        Settings(secrets_keys=SecretStr("not-a-fernet-key"))


def test_production_needs_secrets_keys() -> None:
    with pytest.raises(ValidationError, match="SECRETS_KEYS must be set in production"):
        Settings(
            environment=Environment.PRODUCTION,
            admin_token=SecretStr("a-long-production-token"),
            secrets_keys=None,
        )


def test_the_migration_seals_credentials_stored_in_the_clear(scratch_database_url: str) -> None:
    url = scratch_database_url
    config = alembic_config(url)
    command.upgrade(config, "0007")

    async def run(statement: str) -> list[tuple[object, ...]]:
        engine = create_engine(Settings(database_url=url))
        async with engine.begin() as connection:
            rows = [tuple(row) for row in await connection.execute(text(statement))]
        await engine.dispose()
        return rows

    async def store_in_the_clear() -> None:
        engine = create_engine(Settings(database_url=url))
        async with engine.begin() as connection:
            await connection.run_sync(_insert_clinic_before_sealing)
        await engine.dispose()

    asyncio.run(store_in_the_clear())
    command.upgrade(config, "head")
    [(stored,)] = asyncio.run(run("SELECT provider_credentials FROM clinic_settings"))
    assert isinstance(stored, str)
    assert "sinch-token-hemmelig" not in stored
    assert json.loads(secrets.unseal(stored)) == CREDENTIALS


def _filler(column: Column[Any]) -> object:
    """A value for a NOT NULL column of the schema as it was before the migration."""
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, Integer):
        return 1
    if isinstance(column.type, Numeric):
        return Decimal("0.5")
    if isinstance(column.type, DateTime):
        return datetime(2026, 11, 30, 10, tzinfo=UTC)
    if isinstance(column.type, Time):
        return time(8)
    if isinstance(column.type, Uuid):
        return uuid.uuid4()
    if isinstance(column.type, JSON):
        return {}
    return "x"


def _insert_clinic_before_sealing(connection: Connection) -> None:
    tables = MetaData()
    clinic = Table("clinic", tables, Column("id", Uuid, primary_key=True), autoload_with=connection)
    settings_table = Table(
        "clinic_settings",
        tables,
        Column("clinic_id", Uuid, primary_key=True),
        Column("provider_credentials", JSON, nullable=False),
        autoload_with=connection,
    )
    clinic_id = uuid.uuid4()
    for table, values in (
        (clinic, {"id": clinic_id}),
        (settings_table, {"clinic_id": clinic_id, "provider_credentials": CREDENTIALS}),
    ):
        row = {c.name: _filler(c) for c in table.columns if not c.nullable} | values
        connection.execute(insert(table).values(row))


async def test_no_subscription_secret_is_stored_in_the_clear(
    client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine
) -> None:
    created = await client.post(
        "/v1/event-subscriptions",
        headers=clinic.headers,
        json={"url": "https://pms.example.no/hooks/sms", "event_types": ["message.status_changed"]},
    )
    assert created.status_code == 201, created.text
    first = created.json()["secret"]
    rotated = await client.post(
        f"/v1/event-subscriptions/{created.json()['id']}/rotate-secret", headers=clinic.headers
    )
    assert rotated.status_code == 200, rotated.text
    async with engine.connect() as connection:
        row = (
            await connection.execute(text("SELECT secret, previous_secret FROM event_subscription"))
        ).one()
    assert first not in row[0] + row[1]
    assert rotated.json()["secret"] not in row[0] + row[1]
    assert (secrets.unseal(row[0]), secrets.unseal(row[1])) == (rotated.json()["secret"], first)
