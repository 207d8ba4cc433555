"""`?dry_run=true` on message creation: the real answer, with nothing stored, queued or
remembered under the Idempotency-Key."""

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events.models import EventType
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

Json = dict[str, Any]
TABLES = ("message", "idempotency_record", "event_delivery", "patient", "number_opt_out")


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        return {
            table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in TABLES
        }


def without_id(message: Json) -> Json:
    return {key: value for key, value in message.items() if key != "id"}


@pytest.fixture
async def family(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    """A patient with one guardian who takes SMS and one who does not, and a subscriber
    who would be told about any event the call records."""
    await client.patch("/v1/settings", headers=clinic.headers, json={"price_per_segment": "0.45"})
    subscribed = await client.post(
        "/v1/event-subscriptions",
        headers=clinic.headers,
        json={"url": "https://pms.example.no/hooks", "event_types": list(EventType)},
    )
    assert subscribed.status_code == 201, subscribed.text
    await put_patient(
        client,
        clinic,
        "2002",
        wants_sms=True,
        guardians=[
            {"name": "Mor Nordmann", "mobile": "+4791111111", "wants_sms": True},
            {"name": "Far Nordmann", "mobile": "+4792222222", "wants_sms": False},
        ],
    )
    await put_patient(client, clinic, "2003", mobile=None)


SINGLE = {
    "patient_no": "2002",
    "text": "Hei [Fornavn]! Husk timen din hos oss. " + "Velkommen! " * 12,
    "include_guardians": True,
}


async def test_single_dry_run_answers_what_the_real_call_then_does(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    family: None,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    before = await counts(sessionmaker)
    dry = await client.post(
        "/v1/messages", headers=clinic.headers, params={"dry_run": "true"}, json=SINGLE
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert [message["id"] for message in dry.json()["data"]] == [None, None]
    assert await counts(sessionmaker) == before
    assert await redis.queued_jobs() == []

    real = await client.post("/v1/messages", headers=clinic.headers, json=SINGLE)
    assert real.status_code == 201, real.text
    assert real.json()["dry_run"] is False
    assert all(message["id"] for message in real.json()["data"])
    assert [without_id(m) for m in dry.json()["data"]] == [
        without_id(m) for m in real.json()["data"]
    ]
    assert (
        dry.json()["skipped"]
        == real.json()["skipped"]
        == [
            {"recipient_role": "guardian", "recipient_name": "Far Nordmann", "reason": "no_consent"}
        ]
    )
    [patient, guardian] = dry.json()["data"]
    assert patient["segments"] == 2
    assert patient["cost"] == {"amount": "0.90", "currency": "NOK"}
    assert guardian["recipient_name"] == "Mor Nordmann"


async def test_a_dry_run_neither_replays_nor_records_the_idempotency_key(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    family: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = clinic.headers | {"Idempotency-Key": "utsendelse-1"}
    dry = await client.post(
        "/v1/messages", headers=headers, params={"dry_run": "true"}, json=SINGLE
    )
    assert dry.status_code == 200, dry.text
    assert (await counts(sessionmaker))["idempotency_record"] == 0

    real = await client.post("/v1/messages", headers=headers, json=SINGLE)
    assert real.status_code == 201, real.text
    assert "Idempotent-Replayed" not in real.headers
    stored = await counts(sessionmaker)

    again = await client.post(
        "/v1/messages", headers=headers, params={"dry_run": "true"}, json=SINGLE
    )
    assert again.status_code == 200, again.text
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["dry_run"] is True
    assert [m["id"] for m in again.json()["data"]] == [None, None]
    assert await counts(sessionmaker) == stored


async def test_a_dry_run_refuses_what_the_real_call_refuses(
    client: httpx.AsyncClient, clinic: ClinicAccess, family: None
) -> None:
    body = {"to": "+4791234567", "text": "a" * 2000}
    dry = await client.post(
        "/v1/messages", headers=clinic.headers, params={"dry_run": "true"}, json=body
    )
    real = await client.post("/v1/messages", headers=clinic.headers, json=body)
    assert dry.status_code == real.status_code == 422
    assert dry.json()["errors"] == real.json()["errors"]


BULK = {"patient_nos": ["2002", "2003", "9999", "2002"], "text": "Hei [Fornavn], velkommen!"}


async def test_bulk_dry_run_answers_what_the_real_call_then_does(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    family: None,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    before = await counts(sessionmaker)
    headers = clinic.headers | {"Idempotency-Key": "masseutsendelse-1"}
    dry = await client.post(
        "/v1/messages/bulk", headers=headers, params={"dry_run": "true"}, json=BULK
    )
    assert dry.status_code == 200, dry.text
    assert await counts(sessionmaker) == before
    assert await redis.queued_jobs() == []
    answer = dry.json()
    assert answer["dry_run"] is True
    assert answer["segments"] == 1
    assert answer["cost"] == {"amount": "0.45", "currency": "NOK"}

    real = await client.post("/v1/messages/bulk", headers=headers, json=BULK)
    assert real.status_code == 200, real.text
    assert "Idempotent-Replayed" not in real.headers
    real_answer = real.json()
    assert real_answer["dry_run"] is False
    assert (answer["queued"], answer["skipped"]) == (real_answer["queued"], real_answer["skipped"])

    def decisions(result: Json) -> list[tuple[str, str, str | None]]:
        return [(o["patient_no"], o["outcome"], o["reason"]) for o in result["outcomes"]]

    assert (
        decisions(answer)
        == decisions(real_answer)
        == [
            ("2002", "queued", None),
            ("2003", "skipped", "no_mobile"),
            ("9999", "skipped", "unknown_patient"),
            ("2002", "skipped", "duplicate"),
        ]
    )
    [would_be] = answer["outcomes"][0]["messages"]
    assert answer["outcomes"][0]["message_ids"] == []
    assert would_be["id"] is None
    [message_id] = real_answer["outcomes"][0]["message_ids"]
    stored = await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)
    assert without_id(would_be) == without_id(stored.json())
    assert would_be["text"] == "Hei Kari, velkommen!"
