"""STOPP blocks the number for marketing and offers, bare `to` included; START lifts the
block but gives no marketing consent back (markedsføringsloven § 15, DESIGN §5)."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages.models import Message
from app.optouts.models import NumberOptOut
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import recorded, subscribe
from tests.messages.conftest import put_patient
from tests.replies.test_inbound import reply
from tests.webhooks.helpers import NUMBER

pytestmark = pytest.mark.usefixtures("reply_number")
MARKETING = {"template_type": "marketing", "merge_values": {"URL": "https://x.no/t"}}
# A bare number has no patient's name for [Fornavn]: the caller gives it.
BARE = MARKETING | {"merge_values": {"URL": "https://x.no/t", "Fornavn": "Kari"}}


async def post(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> httpx.Response:
    return await client.post("/v1/messages", headers=clinic.headers, json=body)


async def stored_messages(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Message))).scalar_one()


async def test_marketing_to_a_bare_number_that_answered_stopp_is_refused(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert (await post(client, clinic, to=NUMBER, **BARE)).status_code == 201
    await reply(client, clinic, "STOPP")  # from NUMBER, no patient has it
    before = await stored_messages(sessionmaker)

    for template_type in ("marketing", "offer"):
        refused = await post(client, clinic, to=NUMBER, **BARE | {"template_type": template_type})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [
            {
                "field": "to",
                "reason": "this number answered STOPP: no marketing or offers go to it",
                "code": "opted_out",
            }
        ]
    assert await stored_messages(sessionmaker) == before
    service = await post(client, clinic, to=NUMBER, text="Timen din er flyttet.")
    assert service.status_code == 201, service.text  # service messages still go


async def test_stopp_cancels_the_marketing_waiting_for_the_number_with_an_event(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    later = (clock.now() + timedelta(days=2)).isoformat()
    offer = await post(client, clinic, to=NUMBER, send_after=later, **BARE)
    notice = await post(client, clinic, to=NUMBER, send_after=later, text="Beskjed")
    other = await post(client, clinic, to="+4791234568", send_after=later, **BARE)

    await reply(client, clinic, "STOPP")

    def status(response: httpx.Response) -> Any:
        return response.json()["data"][0]["id"]

    listed = await client.get("/v1/messages", headers=clinic.headers)
    by_id = {m["id"]: (m["status"], m["failure_reason"]) for m in listed.json()["data"]}
    assert by_id[status(offer)] == ("cancelled", "opted_out")
    assert by_id[status(notice)] == ("pending", None)
    assert by_id[status(other)] == ("pending", None)
    events = [d.data for d in await recorded(sessionmaker)]
    assert [(e["message_id"], e["failure_reason"]) for e in events] == [
        (status(offer), "opted_out")
    ]


async def test_start_lifts_the_block_but_gives_no_consent_back(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001", mobile=NUMBER, marketing_consent=True)
    await reply(client, clinic, "STOPP")
    clock.advance(hours=1)
    await reply(client, clinic, "START")

    assert (await post(client, clinic, to=NUMBER, **BARE)).status_code == 201
    async with sessionmaker() as session:
        blocks = await session.execute(select(func.count()).select_from(NumberOptOut))
        assert blocks.scalar_one() == 0
    bulk = await client.post(
        "/v1/messages/bulk", headers=clinic.headers, json={"patient_nos": ["1001"], **MARKETING}
    )
    assert bulk.json()["outcomes"][0]["reason"] == "no_marketing_consent"


async def test_a_patient_given_a_blocked_number_later_gets_no_marketing(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await reply(client, clinic, "STOPP")  # before any patient had the number
    await put_patient(client, clinic, "1001", mobile=NUMBER, marketing_consent=True)
    guardian = {"name": "Ola Nordmann", "mobile": NUMBER, "wants_sms": True}
    await put_patient(
        client, clinic, "1002", mobile="+4791234568", marketing_consent=True, guardians=[guardian]
    )

    bulk = await client.post(
        "/v1/messages/bulk",
        headers=clinic.headers,
        json={"patient_nos": ["1001", "1002"], "include_guardians": True, **MARKETING},
    )
    assert bulk.status_code == 200, bulk.text
    outcomes = [(o["patient_no"], o["outcome"], o["reason"]) for o in bulk.json()["outcomes"]]
    assert outcomes == [("1001", "skipped", "opted_out"), ("1002", "queued", None)]
    [queued] = bulk.json()["outcomes"][1]["message_ids"]
    one = await client.get(f"/v1/messages/{queued}", headers=clinic.headers)
    assert one.json()["to"] == "+4791234568"  # not the guardian's blocked number
    single = await post(client, clinic, patient_no="1001", **MARKETING)
    assert single.status_code == 422
    assert "opted_out" in single.json()["detail"]


async def test_a_new_number_that_answered_stopp_cancels_pending_marketing(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await reply(client, clinic, "STOPP")
    await put_patient(client, clinic, "1001", mobile="+4791234568", marketing_consent=True)
    later = (clock.now() + timedelta(days=2)).isoformat()
    offer = await post(client, clinic, patient_no="1001", send_after=later, **MARKETING)
    assert offer.status_code == 201, offer.text

    await put_patient(client, clinic, "1001", mobile=NUMBER, marketing_consent=True)

    moved = offer.json()["data"][0]["id"]
    cancelled = (await client.get(f"/v1/messages/{moved}", headers=clinic.headers)).json()
    assert (cancelled["status"], cancelled["failure_reason"]) == ("cancelled", "opted_out")


async def test_the_block_is_the_clinics_own(
    client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
) -> None:
    await reply(client, clinic, "STOPP")
    await client.patch(
        "/v1/settings", headers=other_clinic.headers, json={"reply_number": "+4790012346"}
    )
    assert (await post(client, other_clinic, to=NUMBER, **BARE)).status_code == 201
