"""The bulk helpers of app.core.db and app.core.inserts, on whichever database the suite runs."""

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clinics.service import create_clinic
from app.core.config import Settings
from app.core.db import SQLITE_IN_BATCH, bulk_insert, create_engine, in_batches
from app.core.inserts import insert_sharing
from app.core.models import table_of
from app.replies.models import Reply
from tests.conftest import START_TIME

reply_table = table_of(Reply)


def _reply(clinic_id: uuid.UUID, number: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "clinic_id": clinic_id,
        "provider": "sandbox",
        "provider_message_id": f"mo-{number}",
        "text": "JA",
        "received_at": START_TIME,
        "read": False,
        "follow_up": False,
    }


async def _insert_replies(session: AsyncSession, count: int) -> list[dict[str, Any]]:
    clinic = await create_clinic(session, name="Tannlege Berg")
    rows = [_reply(clinic.id, number) for number in range(count)]
    await bulk_insert(session, reply_table, rows)
    return rows


async def test_bulk_insert_stores_every_row_and_keeps_the_session_plan_mode(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await _insert_replies(session, 1_200)
        if session.get_bind().dialect.name == "postgresql":
            # COPY runs with cached plans; the statements after it plan per call again.
            mode = await session.execute(text("SHOW plan_cache_mode"))
            assert mode.scalar_one() == "force_custom_plan"
        await session.commit()
    async with sessionmaker() as session:
        stored = await session.execute(select(func.count()).select_from(reply_table))
        assert stored.scalar_one() == 1_200


async def test_in_batches_matches_every_value_in_as_few_statements_as_the_database_allows(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        rows = await _insert_replies(session, 1_200)
        wanted = [row["id"] for row in rows[::2]] + [uuid.uuid4()]
        conditions = in_batches(session, reply_table.c.id, wanted)
        found = set()
        for condition in conditions:
            found |= set(
                (await session.execute(select(reply_table.c.id).where(condition))).scalars()
            )
        postgres = session.get_bind().dialect.name == "postgresql"
        assert len(conditions) == (1 if postgres else -(-len(wanted) // SQLITE_IN_BATCH))
        assert found == {row["id"] for row in rows[::2]}
        for condition in in_batches(session, reply_table.c.id, []):
            assert (
                await session.execute(select(reply_table.c.id).where(condition))
            ).first() is None


async def test_insert_sharing_stores_the_shared_values_with_each_rows_own(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        clinic = await create_clinic(session, name="Tannlege Berg")
        shared = {"clinic_id": clinic.id, "provider": "sandbox", "received_at": START_TIME}
        # `text` is alike in every row, `follow_up` is not: both must come back as given.
        rows = [
            {
                "id": uuid.uuid4(),
                "provider_message_id": f"mo-{number}",
                "text": "JA",
                "read": False,
                "follow_up": number % 2 == 0,
            }
            for number in range(300)
        ]
        one = [rows[0] | {"id": uuid.uuid4(), "provider_message_id": "mo-one"}]
        await insert_sharing(session, reply_table, shared, rows)
        await insert_sharing(session, reply_table, shared, one)
        await insert_sharing(session, reply_table, shared, [])
        if session.get_bind().dialect.name == "postgresql":
            mode = await session.execute(text("SHOW plan_cache_mode"))
            assert mode.scalar_one() == "force_custom_plan"
        await session.commit()
    async with sessionmaker() as session:
        columns = [reply_table.c[name] for name in [*shared, *rows[0]]]
        stored = (await session.execute(select(*columns))).mappings().all()
    assert sorted(stored, key=lambda row: row["provider_message_id"]) == sorted(
        (shared | row for row in rows + one), key=lambda row: row["provider_message_id"]
    )


async def test_a_pooled_connection_the_server_closed_is_replaced_on_checkout(
    settings: Settings, engine: AsyncEngine
) -> None:
    if settings.is_sqlite:
        pytest.skip("a server closes connections; a SQLite file has none to close")
    pooled = create_engine(settings)
    try:
        async with pooled.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
            driver = (await connection.get_raw_connection()).driver_connection
        async with engine.connect() as other:  # a restart or an idle timeout, in short
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(250):  # the backend exits, and the event loop reads the socket's end
            if driver.is_closed():
                break
            await asyncio.sleep(0.02)
        assert driver.is_closed()
        async with pooled.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await pooled.dispose()
