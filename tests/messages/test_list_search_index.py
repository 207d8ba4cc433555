"""The free-text search reads the very expression PostgreSQL's trigram index holds, so
the index serves it (migration 0025, by clinic); on SQLite there is no such index."""

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.messages.listing import MessageFilters, _filtered, in_clinic, matches
from app.messages.models import Message


async def test_a_search_can_use_the_trigram_index(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")
    # The search alone: with the clinic too, an empty table's planner takes the clinic's.
    statement = _filtered(select(Message), MessageFilters(q="Nordmann"), "NO", uuid.uuid4())
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    async with engine.connect() as connection:
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        await connection.execute(text("SET LOCAL enable_indexscan = off"))
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {compiled}")))
        await connection.rollback()
    assert "ix_message_clinic_search" in plan, plan


async def test_the_index_holds_the_clinic_too(engine: AsyncEngine) -> None:
    """A word common in other clinics is found absent in this one by the index alone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")
    async with engine.connect() as connection:
        definition = await connection.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_message_clinic_search'")
        )
    assert definition is not None
    assert "USING gin (((clinic_id)::text), lower(" in definition, definition
    assert definition.endswith("gin_trgm_ops)"), definition


async def test_only_the_trigram_index_can_answer_the_clinic_and_the_word(
    engine: AsyncEngine,
) -> None:
    """The search past its window asks for the clinic as the trigram index holds it, so
    no clinic btree can serve it: the planner cannot read every row of the clinic."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")
    async with AsyncSession(engine) as session:
        statement = select(Message.id).where(in_clinic(session, uuid.uuid4()), matches("Nordmann"))
        compiled = statement.compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = [row[0] for row in await session.execute(text(f"EXPLAIN {compiled}"))]
        await session.rollback()
    scans = [line for line in plan if "Index Scan" in line]
    assert len(scans) == 1, plan
    assert "ix_message_clinic_search" in scans[0], plan
