"""Past its window the free-text search reads the trigram index of `message_search`
(migration 0026, by clinic) and no index of `message` but its key; on SQLite there is no
such index."""

import re
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.messages.listing import search_hits
from app.messages.models import Message
from tests.messages.conftest import plan_of

_MESSAGES = text(
    "INSERT INTO message (id, clinic_id, patient_name, recipient_role, type, text, encoding, "
    "segments, cost, currency, status, send_kind, send_after, next_attempt_at, expires_at, "
    "attempts, allow_reply, created_at) "
    "SELECT gen_random_uuid(), CAST(:clinic_id AS uuid), 'Ola Hansen', 'patient', 'free_text', "
    "'Hei Ola, husk timen ' || g, 'GSM7', 1, 0.45, 'NOK', 'sent', 'now', now(), now(), now(), "
    "1, false, now() - g * interval '1 minute' FROM generate_series(1, 5000) AS g"
)


async def _plan(engine: AsyncEngine, q: str) -> list[str]:
    """The plan of the search past the window, for a clinic of 5,000 analyzed messages."""
    clinic_id = uuid.uuid4()
    statement = search_hits(select(Message), clinic_id, q)
    # So few rows would be read whole, by scan or by key: neither, as at a million.
    plan = await plan_of(
        engine,
        statement,
        seed=(clinic_id, _MESSAGES, {"clinic_id": str(clinic_id)}),
        settings=("enable_seqscan = off", "enable_indexscan = off"),
    )
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
    indexes = set(re.findall(r"(?:using|Index Scan on) (\w+)", "\n".join(plan)))
    assert "ix_message_search_document" in indexes, plan
    assert indexes <= {"ix_message_search_document", "pk_message"}, plan


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
