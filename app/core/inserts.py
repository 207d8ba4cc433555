"""INSERT … ON CONFLICT DO NOTHING on both databases, for idempotent webhook intake."""

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]


async def insert_new(
    executor: AsyncSession | AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str],
) -> list[Any]:
    """Insert the rows that do not collide on `unique`; answers the ids of those inserted.

    On PostgreSQL the rows go to the driver as one `unnest(...)` of arrays, like
    `bulk_insert`'s COPY: one statement text for any number of rows (prepared once per
    connection) and no per-row work in SQLAlchemy, which is what limits webhook intake.
    Values must therefore already be what the columns store (aware datetimes, UUIDs).
    """
    if not rows:
        return []
    connection = await executor.connection() if isinstance(executor, AsyncSession) else executor
    if connection.dialect.name != "postgresql":
        statement = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=list(unique))
            .returning(table.c.id)
        )
        parameters = [dict(row) for row in rows]
        result = await connection.execute(
            statement, parameters[0] if len(rows) == 1 else parameters
        )
        return list(result.scalars())
    names = tuple(rows[0])
    driver = (await connection.get_raw_connection()).driver_connection
    inserted = await driver.fetch(  # type: ignore[union-attr]
        _unnest_insert(table, names, tuple(unique)), *([row[n] for row in rows] for n in names)
    )
    return [row[0] for row in inserted]


@lru_cache
def _unnest_insert(table: Table, names: tuple[str, ...], unique: tuple[str, ...]) -> str:
    arrays = ", ".join(
        f"${position}::{table.c[name].type.compile(dialect=_POSTGRESQL)}[]"
        for position, name in enumerate(names, start=1)
    )
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING id"
    )
