"""After erasure, no row of any table holds the patient's name, number or text, in any
case (the search's copy, `message_search`, holds them case folded)."""

import json
from collections.abc import Iterable

import httpx
import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

import app.tables  # noqa: F401  (every table in the metadata)
from app.messages.models import message_search_table
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import subscribe
from tests.replies.test_inbound import reply

FIRST, LAST = "Sølvireidun", "Quorndalsen"
NUMBER = "+4791234567"
TEXT = "Hei Sølvireidun, husk timen tirsdag hos Quorndal-klinikken"
NEEDLES = tuple(needle.lower() for needle in (FIRST, LAST, NUMBER, "91234567", TEXT))


async def _stored_strings(
    sessionmaker: async_sessionmaker[AsyncSession],
    tables: Iterable[Table] = SQLModel.metadata.sorted_tables,
) -> list[str]:
    """Every value stored in `tables`, as text, case folded."""
    found: list[str] = []
    async with sessionmaker() as session:
        for table in tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    if value is not None:
                        found.append(
                            (
                                json.dumps(value, ensure_ascii=False)
                                if isinstance(value, dict | list)
                                else str(value)
                            ).lower()
                        )
    return found


async def test_erasure_leaves_nothing_personal_in_any_table_or_replay(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    patient = {"first_name": FIRST, "last_name": LAST, "mobile": NUMBER, "wants_sms": True}
    put = await client.put("/v1/patients/7001", headers=clinic.headers, json=patient)
    assert put.status_code == 201, put.text
    headers = {**clinic.headers, "Idempotency-Key": "erase-me"}
    body = {"patient_no": "7001", "text": TEXT}
    sent = await client.post("/v1/messages", headers=headers, json=body)
    assert sent.status_code == 201, sent.text
    before = await _stored_strings(sessionmaker)
    assert all(any(needle in value for value in before) for needle in NEEDLES)
    copies = await _stored_strings(sessionmaker, [message_search_table])
    assert all(any(needle in value for value in copies) for needle in (FIRST.lower(), TEXT.lower()))

    assert (await client.delete("/v1/patients/7001", headers=clinic.headers)).status_code == 204

    replay = await client.post("/v1/messages", headers=headers, json=body)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["data"][0]["id"] == sent.json()["data"][0]["id"]
    assert not [needle for needle in NEEDLES if needle in replay.text.lower()]
    after = await _stored_strings(sessionmaker)
    leaks = [(needle, value) for value in after for needle in NEEDLES if needle in value]
    assert leaks == []


SKIPPED_NO = "Q7001"  # no hex digit: never part of an id


@pytest.mark.usefixtures("reply_number")
async def test_erasure_reaches_skipped_outcomes_number_blocks_and_text_sources(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic)
    patient = {"first_name": FIRST, "last_name": LAST, "mobile": NUMBER, "wants_sms": True}
    put = await client.put(f"/v1/patients/{SKIPPED_NO}", headers=clinic.headers, json=patient)
    assert put.status_code == 201, put.text
    bulk_headers = {**clinic.headers, "Idempotency-Key": "skipped-bulk"}
    bulk = {"patient_nos": [SKIPPED_NO], "template_type": "marketing"}
    skipped = await client.post("/v1/messages/bulk", headers=bulk_headers, json=bulk)
    assert skipped.json()["outcomes"][0]["reason"] == "no_marketing_consent"
    named = {"patient_no": SKIPPED_NO, "text": "Hei [Fornavn] [Etternavn]!"}
    assert (await client.post("/v1/messages", headers=clinic.headers, json=named)).is_success
    await reply(client, clinic, "STOPP")  # from NUMBER: blocks it for marketing
    needles = tuple(needle.lower() for needle in (FIRST, LAST, NUMBER, "91234567", SKIPPED_NO))
    before = await _stored_strings(sessionmaker)
    assert all(any(needle in value for value in before) for needle in needles)

    erased = await client.delete(f"/v1/patients/{SKIPPED_NO}", headers=clinic.headers)
    assert erased.status_code == 204

    replay = await client.post("/v1/messages/bulk", headers=bulk_headers, json=bulk)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["outcomes"][0]["reason"] == "no_marketing_consent"
    assert SKIPPED_NO not in replay.text
    after = await _stored_strings(sessionmaker)
    leaks = [(needle, value) for value in after for needle in needles if needle in value]
    assert leaks == []
