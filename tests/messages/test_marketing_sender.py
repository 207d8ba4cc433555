"""Marketing and offers go from the clinic's reply number, where the patient can answer
STOPP, never from the alphanumeric sender name (DESIGN §5)."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages.models import Message
from app.providers.base import SenderKind
from tests.appointments.conftest import patch_settings, send_due
from tests.conftest import REPLY_NUMBER, ClinicAccess
from tests.messages.conftest import put_patient

OFFER = {"template_type": "offer", "merge_values": {"URL": "https://x.no/t"}}


async def stored_messages(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Message))).scalar_one()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/messages", {"patient_no": "1001", **OFFER}),
        ("/v1/messages", {"patient_no": "1001", "template_type": "marketing"}),
        ("/v1/messages/bulk", {"patient_nos": ["1001"], **OFFER}),
    ],
)
async def test_without_a_reply_number_marketing_is_refused_naming_it(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str,
    body: dict[str, Any],
) -> None:
    await patch_settings(client, clinic, sender_name="Tannlege")
    await put_patient(client, clinic, "1001", marketing_consent=True)

    response = await client.post(path, headers=clinic.headers, json=body)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("reply_number", "missing_reply_number")
    assert "reply_number" in response.json()["detail"]
    assert await stored_messages(sessionmaker) == 0


@pytest.mark.usefixtures("reply_number")
async def test_marketing_cannot_be_made_unanswerable(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001", marketing_consent=True)
    body = {"patient_no": "1001", "allow_reply": False, **OFFER}

    response = await client.post("/v1/messages", headers=clinic.headers, json=body)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("allow_reply", "must_allow_reply")
    assert await stored_messages(sessionmaker) == 0


@pytest.mark.usefixtures("reply_number")
async def test_marketing_goes_from_the_reply_number_and_service_from_the_name(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await patch_settings(client, clinic, sender_name="Tannlege")
    await put_patient(client, clinic, "1001", marketing_consent=True)
    offer = await client.post(
        "/v1/messages", headers=clinic.headers, json={"patient_no": "1001", **OFFER}
    )
    assert offer.status_code == 201, offer.text
    assert offer.json()["data"][0]["allow_reply"] is True
    notice = await client.post(
        "/v1/messages", headers=clinic.headers, json={"patient_no": "1001", "text": "Hei"}
    )
    assert notice.status_code == 201, notice.text

    provider = await send_due(sessionmaker, clock)

    senders = {sms.message_id: (sms.sender, sms.sender_kind) for sms in provider.sent}
    assert senders[offer.json()["data"][0]["id"]] == (REPLY_NUMBER, SenderKind.NUMBER)
    assert senders[notice.json()["data"][0]["id"]] == ("Tannlege", SenderKind.ALPHANUMERIC)


@pytest.mark.usefixtures("reply_number")
async def test_marketing_whose_reply_number_was_removed_fails_unsent(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await patch_settings(client, clinic, sender_name="Tannlege")
    await put_patient(client, clinic, "1001", marketing_consent=True)
    offer = await client.post(
        "/v1/messages", headers=clinic.headers, json={"patient_no": "1001", **OFFER}
    )
    await patch_settings(client, clinic, reply_number=None)

    provider = await send_due(sessionmaker, clock)

    assert provider.sent == []
    failed = await client.get(
        f"/v1/messages/{offer.json()['data'][0]['id']}", headers=clinic.headers
    )
    assert failed.json()["status"] == "failed"
    assert "reply number" in failed.json()["failure_detail"]
