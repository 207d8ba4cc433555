"""The list indexes leave out the messages in `sending` (migration 0029), so the claim
writes no entry into them: the list reads those from ix_message_sending beside them, in
one newest-first order, pages and cursors included."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.messages.listing import MessageFilters, _filtered, newest_page
from app.messages.models import Message, MessageStatus, message_table
from tests.conftest import ClinicAccess
from tests.messages.conftest import plan_of


async def _post(client: httpx.AsyncClient, clinic: ClinicAccess, text: str) -> uuid.UUID:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": text}
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["data"][0]["id"])


async def test_a_message_being_sent_is_listed_in_its_place(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    texts = ["eldst", "sender", "nyest", "sender nyest"]
    ids = {text: await _post(client, clinic, text) for text in texts}
    statuses = {"eldst": MessageStatus.SENT, "sender": MessageStatus.SENDING}
    statuses["sender nyest"] = MessageStatus.SENDING
    async with sessionmaker.begin() as session:
        for age, text in enumerate(reversed(texts)):
            values = {"created_at": clock.now() - timedelta(minutes=age)}
            await session.execute(
                update(Message)
                .where(col(Message.id) == ids[text])
                .values(values | ({"status": statuses[text]} if text in statuses else {}))
            )
    listed: list[str] = []
    params: dict[str, str | int] = {"limit": 1}
    for _ in texts:
        response = await client.get("/v1/messages", headers=clinic.headers, params=params)
        assert response.status_code == 200, response.text
        listed += [message["text"] for message in response.json()["data"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        params = {"limit": 1, "cursor": cursor}
    assert listed == list(reversed(texts))
    response = await client.get(
        "/v1/messages", headers=clinic.headers, params={"status": "sending"}
    )
    assert [message["text"] for message in response.json()["data"]] == ["sender nyest", "sender"]


# A clinic's 5,000 messages, one in 50 a free text and one in 500 being sent: on
# statistics, as at scale, not on an unanalyzed table where the planner ties indexes.
_MESSAGES = text(
    "INSERT INTO message (id, clinic_id, patient_name, recipient_role, type, text, encoding, "
    "segments, cost, currency, status, send_kind, send_after, next_attempt_at, expires_at, "
    "attempts, allow_reply, created_at) "
    "SELECT gen_random_uuid(), CAST(:clinic_id AS uuid), 'Ola Hansen', 'patient', "
    "CASE WHEN g % 50 = 0 THEN 'free_text' ELSE 'reminder_1' END, 'Hei Ola ' || g, 'GSM7', "
    "1, 0.45, 'NOK', CASE WHEN g % 500 = 0 THEN 'sending' ELSE 'sent' END, 'now', now(), "
    "now(), now(), 1, false, now() - g * interval '1 minute' FROM generate_series(1, 5000) AS g"
)


async def test_the_type_list_reads_the_type_index_and_the_sending_one(
    engine: AsyncEngine,
) -> None:
    """The type index on both databases (SQLite takes a partial index only for a query
    with its term); on PostgreSQL the rows in `sending` from their own index."""
    clinic_id = uuid.uuid4()
    statement = newest_page(
        _filtered(select(Message), MessageFilters(type="free_text"), "NO", clinic_id).where(
            message_table.c.clinic_id == clinic_id
        ),
        51,
    )
    postgres = engine.dialect.name == "postgresql"
    seed = (clinic_id, _MESSAGES, {"clinic_id": str(clinic_id)}) if postgres else None
    plan = "\n".join(await plan_of(engine, statement, seed=seed))
    assert "ix_message_clinic_type" in plan, plan
    if postgres:
        assert "ix_message_sending" in plan, plan


async def test_the_list_indexes_leave_out_the_rows_in_sending(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("read from pg_indexes")
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'message' "
                "AND indexname IN ('ix_message_clinic_created', 'ix_message_clinic_status', "
                "'ix_message_clinic_type', 'ix_message_clinic_patient_no', "
                "'ix_message_clinic_practitioner')"
            )
        )
        definitions = dict(rows.all())
    assert len(definitions) == 5, definitions
    for name, definition in definitions.items():
        assert "(status)::text <> 'sending'::text" in definition, (name, definition)
