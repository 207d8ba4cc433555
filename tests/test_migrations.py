"""The migrations run up and down on the test database's engine, and match the models."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.cli import alembic_config
from app.core.config import Settings
from app.core.db import create_engine
from app.tables import include_in_comparison, metadata


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


def test_upgrade_downgrade_upgrade(scratch_database_url: str) -> None:
    url = scratch_database_url
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
