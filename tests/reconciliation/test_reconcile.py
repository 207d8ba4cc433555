"""Reconciliation: overdue messages looked up at Twilio and Sinch (respx, with the bodies
their docs show), settled `unknown` / `no_report` where no status API exists (LINK)."""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries import tasks as delivery_tasks
from app.reconciliation.tasks import reconcile
from tests.conftest import ClinicAccess
from tests.failover.conftest import load, send
from tests.support.dispatch import RecordingProvider, dispatch_once

TWILIO = {"account_sid": "AC" + "0" * 32, "auth_token": "twilio-token"}
SINCH = {"service_plan_id": "plan-1", "api_token": "sinch-token"}
LINK = {"username": "u", "password": "p", "platform_id": "SMS", "platform_partner_id": "1"}
CREDENTIALS = {"twilio": TWILIO, "sinch": SINCH, "linkmobility": LINK}
TO = "+4791234567"


def twilio_message(sid: str, status: str, error_code: int | None = None) -> dict[str, Any]:
    """Twilio's Message resource as `GET …/Messages/{Sid}.json` answers it."""
    return {
        "account_sid": TWILIO["account_sid"],
        "api_version": "2010-04-01",
        "body": "Hei",
        "date_created": "Mon, 30 Nov 2026 10:00:00 +0000",
        "date_sent": "Mon, 30 Nov 2026 10:00:01 +0000",
        "date_updated": "Mon, 30 Nov 2026 10:00:05 +0000",
        "direction": "outbound-api",
        "error_code": error_code,
        "error_message": None,
        "from": "TannBerg",
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": "-0.04",
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "to": TO,
        "uri": f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages/{sid}.json",
    }


def sinch_recipient_report(batch_id: str, status: str, code: int) -> dict[str, Any]:
    """Sinch's recipient delivery report (`GET …/delivery_report/{recipient_msisdn}`)."""
    return {
        "type": "recipient_delivery_report_sms",
        "batch_id": batch_id,
        "recipient": TO.removeprefix("+"),
        "code": code,
        "status": status,
        "at": "2026-11-30T10:00:05.000Z",
        "operator_status_at": "2026-11-30T10:00:04Z",
    }


def twilio_url(settings: Settings, sid: str) -> str:
    account = TWILIO["account_sid"]
    return f"{settings.twilio_base_url}/2010-04-01/Accounts/{account}/Messages/{sid}.json"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def ctx(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    settings: Settings,
    redis: ArqRedis,
) -> AsyncIterator[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        yield {
            "sessionmaker": sessionmaker,
            "clock": clock,
            "settings": settings,
            "http": http,
            "redis": redis,
        }


async def sent_through(
    provider: str,
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> str:
    """A message the provider accepted (id `p-<ours>`) and never reported on."""
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"provider": provider, "sender_name": "TannBerg", "provider_credentials": CREDENTIALS},
    )
    assert response.status_code == 200, response.text
    message_id = await send(client, clinic, TO)
    assert (await dispatch_once(sessionmaker, clock, RecordingProvider(name=provider))).accepted
    return message_id


async def test_twilio_is_asked_after_an_hour_and_its_answer_applied(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    settings: Settings,
    api: respx.MockRouter,
    ctx: dict[str, Any],
) -> None:
    message_id = await sent_through("twilio", client, clinic, sessionmaker, clock)
    sid = f"p-{message_id}"
    url = twilio_url(settings, sid)
    route = api.get(url).respond(200, json=twilio_message(sid, "undelivered", 30003))
    clock.advance(minutes=59)
    assert (await reconcile(ctx))["looked_up"] == 0
    clock.advance(minutes=1)
    assert await reconcile(ctx) == {"settled_no_report": 0, "looked_up": 1, "reports_found": 1}
    assert route.calls.last.request.headers["authorization"].startswith("Basic ")
    assert (await reconcile(ctx))["looked_up"] == 0  # once an hour
    await delivery_tasks.apply_stored(ctx)
    message = await load(sessionmaker, message_id)
    assert message.delivery == "undelivered"
    assert (
        message.failure_detail
        == "Twilio: undelivered - unreachable destination handset (error 30003)"
    )


async def test_sinch_is_asked_for_the_batch_and_recipient(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    settings: Settings,
    api: respx.MockRouter,
    ctx: dict[str, Any],
) -> None:
    message_id = await sent_through("sinch", client, clinic, sessionmaker, clock)
    batch_id = f"p-{message_id}"
    url = f"{settings.sinch_base_url}/xms/v1/plan-1/batches/{batch_id}/delivery_report/4791234567"
    route = api.get(url).respond(200, json=sinch_recipient_report(batch_id, "Delivered", 0))
    clock.advance(hours=1)
    assert (await reconcile(ctx))["reports_found"] == 1
    assert route.calls.last.request.headers["authorization"] == "Bearer sinch-token"
    await delivery_tasks.apply_stored(ctx)
    assert (await load(sessionmaker, message_id)).delivery == "delivered"


async def test_a_provider_still_on_the_way_is_asked_hourly_then_settled_no_report(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    settings: Settings,
    api: respx.MockRouter,
    ctx: dict[str, Any],
) -> None:
    message_id = await sent_through("twilio", client, clinic, sessionmaker, clock)
    sid = f"p-{message_id}"
    url = twilio_url(settings, sid)
    route = api.get(url).respond(200, json=twilio_message(sid, "sent"))
    for _ in range(47):
        clock.advance(hours=1)
        assert (await reconcile(ctx))["reports_found"] == 0
    assert route.call_count == 47
    assert (await load(sessionmaker, message_id)).delivery == "accepted"
    clock.advance(hours=1)
    assert (await reconcile(ctx))["settled_no_report"] == 1
    message = await load(sessionmaker, message_id)
    assert (message.delivery, message.delivery_reason) == ("unknown", "no_report")


async def test_sinch_without_a_report_yet_is_asked_again(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    settings: Settings,
    api: respx.MockRouter,
    ctx: dict[str, Any],
) -> None:
    message_id = await sent_through("sinch", client, clinic, sessionmaker, clock)
    url = (
        f"{settings.sinch_base_url}/xms/v1/plan-1/batches/p-{message_id}/delivery_report/4791234567"
    )
    route = api.get(url).respond(404, json={"code": "not_found", "text": "No delivery report"})
    clock.advance(hours=1)
    assert (await reconcile(ctx))["reports_found"] == 0
    clock.advance(hours=1)
    await reconcile(ctx)
    assert route.call_count == 2
    assert (await load(sessionmaker, message_id)).delivery == "accepted"


async def test_link_has_no_status_api_so_it_is_settled_after_48_hours_and_counted(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    api: respx.MockRouter,
    ctx: dict[str, Any],
) -> None:
    message_id = await sent_through("linkmobility", client, clinic, sessionmaker, clock)
    info = (await client.get("/v1/sms-info", headers=clinic.headers)).json()
    assert info["reports"] == {"awaiting_report": 1, "no_report": 0}
    clock.advance(hours=47, minutes=59)
    assert await reconcile(ctx) == {"settled_no_report": 0, "looked_up": 0, "reports_found": 0}
    clock.advance(minutes=1)
    assert (await reconcile(ctx))["settled_no_report"] == 1
    assert not api.calls
    shown = (await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)).json()
    assert (shown["delivery"], shown["delivery_reason"], shown["provider"]) == (
        "unknown",
        "no_report",
        "linkmobility",
    )
    info = (await client.get("/v1/sms-info", headers=clinic.headers)).json()
    assert info["reports"] == {"awaiting_report": 0, "no_report": 1}
    assert (await reconcile(ctx))["settled_no_report"] == 0


async def test_a_report_after_the_settlement_still_counts(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    ctx: dict[str, Any],
) -> None:
    message_id = await sent_through("linkmobility", client, clinic, sessionmaker, clock)
    clock.advance(hours=48)
    await reconcile(ctx)
    urls = (await client.get("/v1/settings", headers=clinic.headers)).json()["webhook_urls"]
    report = {"refId": message_id, "id": "link-1", "resultCode": 1001}
    path = urls["delivery"].removeprefix("https://sms.example.test")
    assert (await client.post(path, content=json.dumps(report))).status_code == 200
    clock.advance(seconds=2)
    await delivery_tasks.apply_stored(ctx)
    message = await load(sessionmaker, message_id)
    assert (message.delivery, message.delivery_reason) == ("delivered", None)
