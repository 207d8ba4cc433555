"""The migrations run up and down on the test database's engine, and match the models."""

import asyncio
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from app.cli import alembic_config
from app.core.config import Settings
from app.core.db import create_engine
from app.tables import include_in_comparison, metadata


def _scratch_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('migrations') / 'scratch.db'}"
    name = f"migrations_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        engine = create_engine(Settings(database_url=database_url))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()

    asyncio.run(create())
    return url.set(database=name).render_as_string(hide_password=False)


def _inspect(url: str) -> tuple[set[str], list[object]]:
    def read(connection: Connection) -> tuple[set[str], list[object]]:
        tables = set(inspect(connection).get_table_names())
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_comparison}
        )
        return tables, compare_metadata(context, metadata)

    async def run() -> tuple[set[str], list[object]]:
        engine = create_engine(Settings(database_url=url))
        async with engine.connect() as connection:
            result = await connection.run_sync(read)
        await engine.dispose()
        return result

    return asyncio.run(run())


def test_upgrade_downgrade_upgrade(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = _scratch_database_url(database_url, tmp_path_factory)
    config = alembic_config(url)
    command.upgrade(config, "head")
    tables, differences = _inspect(url)
    assert {table.name for table in metadata.sorted_tables} <= tables
    assert differences == [], "the models and the migrations disagree"

    command.downgrade(config, "base")
    tables, _ = _inspect(url)
    assert tables <= {"alembic_version"}

    command.upgrade(config, "head")
    tables, _ = _inspect(url)
    assert {table.name for table in metadata.sorted_tables} <= tables
