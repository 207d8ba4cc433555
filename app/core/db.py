"""Engines, sessions and the one-transaction-per-request unit of work."""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, event, func, insert, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from app.core.config import Settings

# Well below SQLite's bound-parameter limit (999 on old builds).
SQLITE_IN_BATCH = 500
# Up to this many rows an INSERT beats a COPY on PostgreSQL: one round trip, where a COPY
# (with its plan-cache switches) takes three.
COPY_FROM_ROWS = 50
# How long a write waits for SQLite's single writer before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
# A pooled PostgreSQL connection is replaced once this old: one a firewall or proxy
# dropped without a word (which no check on checkout can see) lives at most this long.
POOL_RECYCLE_SECONDS = 1_800


def _prepare_sqlite_file(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _set_sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
    # SQLite's own lower() folds A-Z only; searches must find "Øyvind" from "øyvind".
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _refuse_closed(
    _dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """A pooled connection the server closed (a restart, a terminated backend, an idle
    timeout) is replaced on checkout, as a pre-ping would, without its three round trips:
    asyncpg marks a connection closed as soon as the event loop reads the end of its
    socket. The pool then connects anew (three attempts)."""
    driver = record.driver_connection
    if driver is None or driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_engine(settings: Settings) -> AsyncEngine:
    # hide_parameters: SQL errors reach the logs, and their parameters hold numbers and texts.
    options: dict[str, Any] = {"hide_parameters": True}
    if settings.is_sqlite:
        _prepare_sqlite_file(settings.database_url)
    else:
        options |= {
            "pool_size": settings.database_pool_size,
            "max_overflow": 10,
            "pool_recycle": POOL_RECYCLE_SECONDS,
            # asyncpg prepares every statement; after five runs PostgreSQL may switch to a
            # generic plan, which turns `IN (…500 values…)` lookups into slow filters.
            "connect_args": {"server_settings": {"plan_cache_mode": "force_custom_plan"}},
        }
    engine = create_async_engine(settings.database_url, **options)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    else:
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block succeeds, roll back when it raises."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def bulk_update(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> None:
    """Update many rows by `id`, each with its own values, in one statement.

    PostgreSQL joins the rows in as `unnest(...)` arrays: one statement, one plan. SQLite,
    in-process, takes an executemany of the same UPDATE.
    """
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if session.get_bind().dialect.name == "postgresql":
        arrays = [
            bindparam(f"u_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type))
            for name in ["id", *names]
        ]
        joined = func.unnest(*arrays).table_valued("id", *names).render_derived(name="u")
        statement = (
            update(table)
            .where(table.c.id == joined.c.id, *where)
            .values(**(values or {}), **{name: joined.c[name] for name in names})
        )
        await session.execute(statement)
        return
    statement = (
        update(table)
        .where(table.c.id == bindparam("u_id"), *where)
        .values(**(values or {}), **{name: bindparam(f"u_{name}") for name in names})
    )
    await session.execute(statement, [{f"u_{k}": v for k, v in row.items()} for row in rows])


async def bulk_insert(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows fast: binary COPY on PostgreSQL (asyncpg) from `COPY_FROM_ROWS`
    rows, one multi-row INSERT below that and elsewhere.

    Values go to the driver as they are, so they must already be what the columns store
    (aware UTC datetimes, UUIDs, Decimals).
    """
    if not rows:
        return
    if len(rows) < COPY_FROM_ROWS or session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(table), rows)
        return
    names = list(rows[0])
    values_of: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
        itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    )
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await generic_plans(driver)
    await driver.copy_records_to_table(
        table.name, records=[values_of(row) for row in rows], columns=names
    )
    await custom_plans(driver)


async def generic_plans(driver: Any) -> None:
    """Before a statement of many rows: each row's foreign-key checks take one cached plan
    per constraint, where the force_custom_plan of create_engine would plan them again for
    every row (a third of the time of a 10,000-row COPY).

    The plans are made anew from the tables as they are now (DISCARD PLANS, this connection
    only): a connection keeps a check's plan until the parent table is analyzed, and one
    made while `appointment` was nearly empty looks a reminder's appointment up by
    (clinic_id, start_at), reading all the clinic's appointments for each row (0.6 s for
    the 3,000 reminders of 1,000 appointments, growing with the clinic)."""
    await driver.execute("DISCARD PLANS; SET LOCAL plan_cache_mode = auto")


async def custom_plans(driver: Any) -> None:
    """After the statements of many rows: back to create_engine's plan for each execution,
    for the rest of the transaction."""
    await driver.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def in_batches(
    session: AsyncSession, column: ColumnElement[Any], values: Sequence[Any]
) -> list[ColumnElement[bool]]:
    """`column IN values` as the fewest conditions the database takes: one
    `= ANY(array)` on PostgreSQL (one statement, one parameter), batches on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return [column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))]
    return [
        column.in_(values[start : start + SQLITE_IN_BATCH])
        for start in range(0, len(values), SQLITE_IN_BATCH)
    ]
