"""POST /v1/sandbox/replies: a patient's reply to a sandbox clinic, taken as an inbound SMS."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.replies.models import Reply
from tests.appointments.test_confirmation_replies import appointment, book
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.webhooks.helpers import NUMBER, sent_message

PATH = "/v1/sandbox/replies"


async def simulate(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> httpx.Response:
    return await client.post(PATH, headers=clinic.headers, json=body)


async def stored_replies(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Reply))).scalar_one()


@pytest.fixture
async def reminded(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> str:
    await put_patient(client, clinic, "1001", mobile=NUMBER, wants_sms=True)
    await book(client, clinic, clock)
    return await sent_message(
        client,
        clinic,
        sessionmaker,
        clock,
        provider_name="sandbox",
        to=None,
        text=None,
        patient_no="1001",
        template_type="reminder_1",
        appointment_id="A-1",
    )


@pytest.mark.parametrize(
    ("text", "confirmation"), [("JA", "confirmed"), ("NEI", "cancellation_requested")]
)
async def test_ja_and_nei_reach_the_appointment_reminded_at_that_number(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    reminded: str,
    text: str,
    confirmation: str,
) -> None:
    response = await simulate(client, clinic, **{"from": "912 34 567", "text": text})

    assert response.status_code == 200, response.text
    assert response.json()["stored"] is True
    assert (await appointment(client, clinic))["confirmation"] == confirmation
    message = (await client.get(f"/v1/messages/{reminded}", headers=clinic.headers)).json()
    assert message["status"] == "answered"
    reply = (await client.get("/v1/replies", headers=clinic.headers)).json()["data"][0]
    assert (reply["id"], reply["from"], reply["provider"], reply["message_id"]) == (
        response.json()["reply_id"],
        NUMBER,
        "sandbox",
        reminded,
    )


async def test_stopp_opts_out_and_free_text_is_kept_for_staff(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_patient(client, clinic, "1001", mobile=NUMBER, wants_sms=True)

    assert (await simulate(client, clinic, **{"from": NUMBER, "text": "STOPP"})).status_code == 200
    free_text = await simulate(client, clinic, **{"from": NUMBER, "text": "Kan jeg komme senere?"})
    assert free_text.status_code == 200

    patient = (await client.get("/v1/patients/1001", headers=clinic.headers)).json()
    assert patient["opted_out"] is True
    replies = (await client.get("/v1/replies", headers=clinic.headers)).json()["data"]
    assert sorted((r["text"], r["keyword"], r["patient_no"]) for r in replies) == [
        ("Kan jeg komme senere?", None, "1001"),
        ("STOPP", "stop", "1001"),
    ]


async def test_a_clinic_on_a_real_provider_gets_404_and_nothing_is_stored(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.patch("/v1/settings", headers=clinic.headers, json={"provider": "linkmobility"})

    response = await simulate(client, clinic, **{"from": NUMBER, "text": "JA"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert await stored_replies(sessionmaker) == 0


async def test_it_takes_a_clinic_key(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={"from": NUMBER, "text": "JA"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "not a number", "text": "JA"}, "from"),
        ({"from": "+47123", "text": "JA"}, "from"),
        ({"text": "JA"}, "from"),
        ({"from": NUMBER, "text": ""}, "text"),
        ({"from": NUMBER, "text": "   "}, "text"),
        ({"from": NUMBER, "text": "J\u0000A"}, "text"),
        ({"from": NUMBER}, "text"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, str],
    field: str,
) -> None:
    response = await client.post(PATH, headers=clinic.headers, json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert await stored_replies(sessionmaker) == 0
