"""LINK `/sms/sendbatch` carries one validity, at the top level (LINK-MT v1.18): messages
are grouped so that each batch's messages share it, and none may outlive its own expiry."""

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from app.providers.base import Accepted, OutboundSms, SenderKind
from app.providers.linkmobility import LinkMobilityProvider, validity_group

BASE_URL = "https://n-eu.linkmobility.io"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CREDENTIALS = {
    "username": "clinic-user",
    "password": "s3cret",
    "platform_id": "COMMON_API",
    "platform_partner_id": "4242",
    "gate_id": "gate-77",
}
# What LINK documents for an entry of `sendRequestMessages[]` that we use.
ENTRY_FIELDS = {"source", "sourceTON", "destination", "userData", "refId"}


def sms(number: int, expires_in: timedelta) -> OutboundSms:
    return OutboundSms(
        message_id=f"msg-{number}",
        to=f"+479{number:07d}",
        text="Hei! Husk timen i morgen kl. 10:00.",
        sender="Tannlegen",
        sender_kind=SenderKind.ALPHANUMERIC,
        expires_at=NOW + expires_in,
    )


def echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if "sendRequestMessages" not in body:
        return httpx.Response(200, json={"messageId": f"link-{body['refId']}", "resultCode": 1005})
    return httpx.Response(
        200,
        json=[
            {"messageId": f"link-{entry['refId']}", "refId": entry["refId"], "resultCode": 1005}
            for entry in body["sendRequestMessages"]
        ],
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def provider() -> AsyncIterator[LinkMobilityProvider]:
    async with httpx.AsyncClient() as http:
        yield LinkMobilityProvider(http, BASE_URL, CREDENTIALS, clock=lambda: NOW)


def bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


async def test_messages_with_different_validities_go_in_separate_batches(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    batch = api.post("/sms/sendbatch").mock(side_effect=echo)
    messages = [
        sms(1, timedelta(hours=2)),
        sms(2, timedelta(hours=26)),
        sms(3, timedelta(hours=2, minutes=5)),
        sms(4, timedelta(hours=26, minutes=10)),
    ]

    results = await provider.send_batch(messages)

    assert results == [Accepted(f"link-msg-{n}") for n in (1, 2, 3, 4)]
    sent = bodies(batch)
    assert [body["relativeValidityTime"] for body in sent] == [7_200_000, 93_600_000]
    assert [[e["refId"] for e in body["sendRequestMessages"]] for body in sent] == [
        ["msg-1", "msg-3"],
        ["msg-2", "msg-4"],
    ]


async def test_no_entry_carries_validity_or_any_undocumented_field(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    batch = api.post("/sms/sendbatch").mock(side_effect=echo)

    await provider.send_batch([sms(n, timedelta(hours=3, minutes=n)) for n in range(5)])

    (body,) = bodies(batch)
    entries = body["sendRequestMessages"]
    assert isinstance(entries, list)
    assert all(set(entry) == ENTRY_FIELDS for entry in entries)
    assert body["relativeValidityTime"] == 10_800_000


async def test_the_batch_takes_its_shortest_validity(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    batch = api.post("/sms/sendbatch").mock(side_effect=echo)

    await provider.send_batch(
        [sms(1, timedelta(minutes=44, seconds=50)), sms(2, timedelta(minutes=44, seconds=10))]
    )

    (body,) = bodies(batch)
    assert body["relativeValidityTime"] == 2_650_000  # 44 min 10 s: neither outlives itself


async def test_a_message_alone_in_its_validity_goes_to_send_with_its_own(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    batch = api.post("/sms/sendbatch").mock(side_effect=echo)
    single = api.post("/sms/send").mock(side_effect=echo)

    results = await provider.send_batch(
        [sms(1, timedelta(hours=5)), sms(2, timedelta(minutes=30)), sms(3, timedelta(hours=5))]
    )

    assert results == [Accepted(f"link-msg-{n}") for n in (1, 2, 3)]
    assert [body["relativeValidityTime"] for body in bodies(batch)] == [18_000_000]
    (alone,) = bodies(single)
    assert (alone["refId"], alone["relativeValidityTime"]) == ("msg-2", 1_800_000)


async def test_everything_past_48_hours_shares_links_ceiling(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    batch = api.post("/sms/sendbatch").mock(side_effect=echo)

    await provider.send_batch([sms(1, timedelta(days=3)), sms(2, timedelta(days=9))])

    (body,) = bodies(batch)
    assert body["relativeValidityTime"] == 172_800_000


@pytest.mark.parametrize(
    ("expires_in", "group_seconds"),
    [
        (timedelta(seconds=10), 60),  # LINK's floor
        (timedelta(minutes=59, seconds=59), 59 * 60),  # minutes under an hour
        (timedelta(hours=1), 3600),
        (timedelta(hours=1, minutes=14, seconds=59), 3600),  # quarter hours from there
        (timedelta(hours=1, minutes=15), 4500),
        (timedelta(days=5), 172_800),  # the 48 h ceiling
    ],
)
def test_validity_steps(expires_in: timedelta, group_seconds: int) -> None:
    assert validity_group(NOW + expires_in, NOW) == group_seconds
