"""Past its window the free-text search reads the trigram index of `message_search`
(migration 0026, by clinic) and no index of `message` but its key; on SQLite there is no
such index."""

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from app.messages.listing import search_hits
from app.messages.models import Message


async def _plan(engine: AsyncEngine, q: str) -> list[str]:
    statement = search_hits(select(Message), uuid.uuid4(), q)
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    async with engine.connect() as connection:
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = [row[0] for row in await connection.execute(text(f"EXPLAIN {compiled}"))]
        await connection.rollback()
    return plan


async def test_only_the_trigram_index_can_answer_the_clinic_and_the_word(
    engine: AsyncEngine,
) -> None:
    """The clinic and the word are found together in the copy's index; `message` is read
    by its key only, so no clinic index of it can make the planner read every row of the
    clinic for a word it lacks."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")
    plan = await _plan(engine, "Nordmann")
    scans = [line for line in plan if " on " in line and "Scan" in line]
    assert any("ix_message_search_document" in line for line in scans), plan
    assert [line for line in scans if " on message " in line + " "] == [
        line for line in scans if "pk_message " in line + " "
    ], plan


async def test_the_index_holds_the_clinic_and_the_document(engine: AsyncEngine) -> None:
    """A word common in other clinics is found absent in this one by the index alone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")
    async with engine.connect() as connection:
        definition = await connection.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_message_search_document'")
        )
        old = await connection.scalar(
            text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_message_clinic_search'")
        )
    assert definition is not None
    assert definition.endswith("USING gin (clinic_id, document gin_trgm_ops)"), definition
    assert old is None, "message's own trigram index is gone (0026)"
