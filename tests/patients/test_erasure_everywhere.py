"""After erasure, no row of any table holds the patient's name, number or text."""

import json

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

import app.tables  # noqa: F401  (every table in the metadata)
from tests.conftest import ClinicAccess

FIRST, LAST = "Sølvireidun", "Quorndalsen"
NUMBER = "+4791234567"
TEXT = "Hei Sølvireidun, husk timen tirsdag hos Quorndal-klinikken"
NEEDLES = (FIRST, LAST, NUMBER, "91234567", TEXT)


async def _stored_strings(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    found: list[str] = []
    async with sessionmaker() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    if value is not None:
                        found.append(
                            json.dumps(value, ensure_ascii=False)
                            if isinstance(value, dict | list)
                            else str(value)
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

    assert (await client.delete("/v1/patients/7001", headers=clinic.headers)).status_code == 204

    replay = await client.post("/v1/messages", headers=headers, json=body)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["data"][0]["id"] == sent.json()["data"][0]["id"]
    assert not [needle for needle in NEEDLES if needle in replay.text]
    after = await _stored_strings(sessionmaker)
    leaks = [(needle, value) for value in after for needle in NEEDLES if needle in value]
    assert leaks == []
