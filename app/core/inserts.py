"""INSERTs of many rows as one `unnest(...)` of arrays on PostgreSQL: ON CONFLICT DO NOTHING
for idempotent webhook intake, and rows that share most of their values (a bulk send)."""

import asyncio
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.db import bulk_insert, custom_plans, generic_plans

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


async def insert_sharing(
    session: AsyncSession,
    table: Table,
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Insert rows that all have the `shared` columns' values, each with its own the rest.

    On PostgreSQL one INSERT … SELECT: the shared values go once (with those of the rows'
    own columns that happen to be the same in every row), beside `unnest(...)` of arrays
    of the others. The driver encodes a value per row only for the columns that differ,
    where `bulk_insert`'s COPY encodes every column of every row (for a bulk send's
    10,000 messages, 27 columns, most of them shared). Elsewhere `bulk_insert` of the
    merged rows. Values must already be what the columns store (aware datetimes, UUIDs).
    """
    async with SharingInserts(session, table, shared) as inserts:
        await inserts.add(rows)


class SharingInserts:
    """`insert_sharing` for rows that come in batches, in one transaction: each batch's
    INSERT is sent at once and awaited only when the next is added or the block ends, so
    PostgreSQL stores one batch while the caller makes the next. Nothing else may use the
    session inside the block."""

    def __init__(self, session: AsyncSession, table: Table, shared: Mapping[str, Any]) -> None:
        self._session = session
        self._table = table
        self._shared = shared
        self._driver: Any = None
        self._pending: asyncio.Future[Any] | None = None

    async def __aenter__(self) -> "SharingInserts":
        return self

    async def __aexit__(self, error: type[BaseException] | None, *_: object) -> None:
        if error is not None:  # the transaction is rolled back: only let the driver finish
            if self._pending is not None:
                await asyncio.gather(self._pending, return_exceptions=True)
            return
        await self._answered()
        if self._driver is not None:
            await custom_plans(self._driver)

    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        await self._answered()
        if not rows:
            return
        connection = await self._session.connection()
        if connection.dialect.name != "postgresql":
            await bulk_insert(self._session, self._table, [{**self._shared, **r} for r in rows])
            return
        if self._driver is None:
            self._driver = (await connection.get_raw_connection()).driver_connection
            await generic_plans(self._driver)
        statement, arguments = _sharing_statement(self._table, self._shared, rows)
        self._pending = asyncio.ensure_future(self._driver.execute(statement, *arguments))
        await asyncio.sleep(0)  # the statement goes now, its answer is awaited later

    async def _answered(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending


def _sharing_statement(
    table: Table, shared: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    first = rows[0]
    names = list(first)
    # All but the first (an id, say): unnest needs an array, even for one row.
    alike = {
        name: first[name] for name in names[1:] if all(row[name] == first[name] for row in rows)
    }
    own = tuple(name for name in names if name not in alike)
    arguments = [*shared.values(), *alike.values(), *([row[name] for row in rows] for name in own)]
    return _sharing_insert(table, (*shared, *alike), own), arguments


def _parameters(table: Table, names: Sequence[str], *, start: int, suffix: str = "") -> list[str]:
    """`$n::type` for each column (`[]` as suffix: an array of them), numbered from `start`."""
    return [
        f"${position}::{table.c[name].type.compile(dialect=_POSTGRESQL)}{suffix}"
        for position, name in enumerate(names, start=start)
    ]


@lru_cache
def _unnest_insert(table: Table, names: tuple[str, ...], unique: tuple[str, ...]) -> str:
    arrays = ", ".join(_parameters(table, names, start=1, suffix="[]"))
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING id"
    )


@lru_cache
def _sharing_insert(table: Table, shared: tuple[str, ...], own: tuple[str, ...]) -> str:
    values = _parameters(table, shared, start=1)
    arrays = ", ".join(_parameters(table, own, start=len(shared) + 1, suffix="[]"))
    return (
        f"INSERT INTO {table.name} ({', '.join((*shared, *own))}) "
        f"SELECT {', '.join((*values, 'u.*'))} FROM unnest({arrays}) AS u"
    )
