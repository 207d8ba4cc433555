"""LINK Mobility adapter against a mocked Common SMS REST API (request and answer shapes
from the "SMS REST API – MT and Delivery Reports" v1.18 documentation)."""

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from app.providers.base import (
    Accepted,
    Failed,
    FailureKind,
    OutboundSms,
    SenderKind,
    SmsProvider,
)
from app.providers.linkmobility import LinkMobilityProvider

BASE_URL = "https://n-eu.linkmobility.io"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CREDENTIALS = {
    "username": "clinic-user",
    "password": "s3cret",
    "platform_id": "COMMON_API",
    "platform_partner_id": "4242",
    "gate_id": "gate-77",
}


def sms(
    number: int = 1,
    *,
    text: str = "Hei! Påminnelse om time hos tannlegen i morgen kl. 10:00.",
    sender: str = "Tannlegen",
    sender_kind: SenderKind = SenderKind.ALPHANUMERIC,
    expires_in: timedelta = timedelta(hours=1),
) -> OutboundSms:
    return OutboundSms(
        message_id=f"msg-{number}",
        to=f"+479{number:07d}",
        text=text,
        sender=sender,
        sender_kind=sender_kind,
        expires_at=NOW + expires_in,
    )


def queued(message_id: str, ref_id: str) -> dict[str, object]:
    return {"messageId": message_id, "refId": ref_id, "resultCode": 1005, "message": "Queued"}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def provider(http: httpx.AsyncClient) -> LinkMobilityProvider:
    return LinkMobilityProvider(http, BASE_URL + "/", CREDENTIALS, clock=lambda: NOW)


def sent_json(route: respx.Route, call: int = 0) -> object:
    return json.loads(route.calls[call].request.content)


def test_implements_the_protocol(provider: LinkMobilityProvider) -> None:
    adapter: SmsProvider = provider
    assert (adapter.name, adapter.max_batch_size) == ("linkmobility", 1000)


async def test_single_message_goes_to_send_with_the_documented_body(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    route = api.post("/sms/send").respond(
        200,
        json={"messageId": "Dcshuhod0PMAAAFQ+/PbnR3x", "resultCode": 1005, "description": "Queued"},
    )

    results = await provider.send_batch([sms()])

    assert results == [Accepted("Dcshuhod0PMAAAFQ+/PbnR3x")]
    assert sent_json(route) == {
        "source": "Tannlegen",
        "sourceTON": "ALPHANUMERIC",
        "destination": "+4790000001",
        "userData": "Hei! Påminnelse om time hos tannlegen i morgen kl. 10:00.",
        "refId": "msg-1",
        "relativeValidityTime": 3_600_000,
        "platformId": "COMMON_API",
        "platformPartnerId": "4242",
        "useDeliveryReport": True,
        "deliveryReportGates": ["gate-77"],
        "ignoreResponse": False,
    }
    request = route.calls[0].request
    expected = base64.b64encode(b"clinic-user:s3cret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"] == "application/json"


async def test_every_request_carries_an_explicit_timeout(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post("/sms/send").respond(200, json={"messageId": "m1", "resultCode": 1005})
    provider = LinkMobilityProvider(http, BASE_URL, CREDENTIALS, timeout=7.5, clock=lambda: NOW)

    await provider.send_batch([sms()])

    assert route.calls[0].request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 7.5,
        "write": 7.5,
        "pool": 7.5,
    }


@pytest.mark.parametrize(
    ("sender", "kind", "expected_ton"),
    [
        ("+4791234567", SenderKind.NUMBER, "MSISDN"),
        ("2233", SenderKind.NUMBER, "SHORTNUMBER"),
        ("12345678", SenderKind.NUMBER, "SHORTNUMBER"),
        ("Tannlegen", SenderKind.ALPHANUMERIC, "ALPHANUMERIC"),
    ],
)
async def test_source_type_of_number(
    api: respx.MockRouter,
    provider: LinkMobilityProvider,
    sender: str,
    kind: SenderKind,
    expected_ton: str,
) -> None:
    route = api.post("/sms/send").respond(200, json={"messageId": "m1", "resultCode": 1005})

    await provider.send_batch([sms(sender=sender, sender_kind=kind)])

    body = sent_json(route)
    assert isinstance(body, dict)
    assert (body["source"], body["sourceTON"]) == (sender, expected_ton)


@pytest.mark.parametrize(
    ("expires_in", "expected_ms"),
    [
        (timedelta(hours=6), 21_600_000),
        (timedelta(seconds=10), 60_000),  # floor
        (timedelta(minutes=-5), 60_000),  # already past: still the floor
        (timedelta(days=5), 172_800_000),  # LINK's 48 h ceiling
    ],
)
async def test_relative_validity_time(
    api: respx.MockRouter,
    provider: LinkMobilityProvider,
    expires_in: timedelta,
    expected_ms: int,
) -> None:
    route = api.post("/sms/send").respond(200, json={"messageId": "m1", "resultCode": 1005})

    await provider.send_batch([sms(expires_in=expires_in)])

    body = sent_json(route)
    assert isinstance(body, dict)
    assert body["relativeValidityTime"] == expected_ms


async def test_without_a_gate_delivery_reports_are_switched_off(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post("/sms/send").respond(200, json={"messageId": "m1", "resultCode": 1005})
    credentials = {**CREDENTIALS, "gate_id": ""}
    provider = LinkMobilityProvider(http, BASE_URL, credentials, clock=lambda: NOW)

    await provider.send_batch([sms()])

    body = sent_json(route)
    assert isinstance(body, dict)
    assert body["useDeliveryReport"] is False
    assert "deliveryReportGates" not in body


async def test_several_messages_go_to_sendbatch(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    route = api.post("/sms/sendbatch").respond(
        200, json=[queued("id-1", "msg-1"), queued("id-2", "msg-2")]
    )
    messages = [
        sms(1, expires_in=timedelta(hours=1, minutes=10)),
        sms(2, sender="+4791234567", sender_kind=SenderKind.NUMBER, expires_in=timedelta(hours=1)),
    ]

    results = await provider.send_batch(messages)

    assert results == [Accepted("id-1"), Accepted("id-2")]
    # Validity only at the top level (the shorter of the two); per message only the
    # fields LINK documents for `sendRequestMessages[]`.
    assert sent_json(route) == {
        "platformId": "COMMON_API",
        "platformPartnerId": "4242",
        "useDeliveryReport": True,
        "deliveryReportGates": ["gate-77"],
        "ignoreResponse": False,
        "relativeValidityTime": 3_600_000,
        "sendRequestMessages": [
            {
                "source": "Tannlegen",
                "sourceTON": "ALPHANUMERIC",
                "destination": "+4790000001",
                "userData": messages[0].text,
                "refId": "msg-1",
            },
            {
                "source": "+4791234567",
                "sourceTON": "MSISDN",
                "destination": "+4790000002",
                "userData": messages[1].text,
                "refId": "msg-2",
            },
        ],
    }


async def test_large_inputs_are_split_into_chunks_of_1000(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        entries = json.loads(request.content)["sendRequestMessages"]
        return httpx.Response(
            200, json=[queued(f"link-{entry['refId']}", entry["refId"]) for entry in entries]
        )

    route = api.post("/sms/sendbatch").mock(side_effect=echo)
    messages = [sms(number) for number in range(2500)]

    results = await provider.send_batch(messages)

    sizes = [len(json.loads(call.request.content)["sendRequestMessages"]) for call in route.calls]
    assert sizes == [1000, 1000, 500]
    assert results == [Accepted(f"link-msg-{number}") for number in range(2500)]


async def test_mixed_batch_answer_is_matched_by_ref_id(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    # Answered out of order, with one message per documented outcome class.
    api.post("/sms/sendbatch").respond(
        200,
        json=[
            {"messageId": "id-3", "refId": "msg-3", "resultCode": 2106, "message": "Number error"},
            queued("id-1", "msg-1"),
            {"messageId": "id-4", "refId": "msg-4", "resultCode": 3, "message": "Throttled"},
            {"messageId": "id-2", "refId": "msg-2", "resultCode": 1000, "message": "Sent"},
            {"messageId": "id-5", "refId": "msg-5", "resultCode": 4, "message": "Timeout"},
            {"messageId": "id-6", "refId": "msg-6", "resultCode": 9999, "message": "?"},
        ],
    )

    results = await provider.send_batch([sms(number) for number in range(1, 8)])

    assert results[:2] == [Accepted("id-1"), Accepted("id-2")]
    kinds = [(r.kind, r.code) for r in results[2:] if isinstance(r, Failed)]
    assert kinds == [
        (FailureKind.PERMANENT, "2106"),
        (FailureKind.RETRYABLE, "3"),
        (FailureKind.UNKNOWN_OUTCOME, "4"),
        (FailureKind.UNKNOWN_OUTCOME, "9999"),
        (FailureKind.UNKNOWN_OUTCOME, None),  # msg-7 missing from the answer
    ]
    assert isinstance(results[2], Failed)
    assert results[2].reason == "LINK Mobility: number error (result code 2106)"


async def test_answer_without_ref_ids_is_matched_by_position(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    api.post("/sms/sendbatch").respond(
        200,
        json=[
            {"messageId": "id-1", "resultCode": 1005},
            {"messageId": "id-2", "resultCode": 2104},
        ],
    )

    results = await provider.send_batch([sms(1), sms(2)])

    assert results[0] == Accepted("id-1")
    assert isinstance(results[1], Failed)
    assert results[1].kind is FailureKind.PERMANENT


async def test_emoji_is_refused_without_sending_and_the_rest_still_goes(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    route = api.post("/sms/sendbatch").respond(
        200, json=[queued("id-1", "msg-1"), queued("id-3", "msg-3")]
    )
    messages = [sms(1), sms(2, text="Velkommen 😊🦷 ser deg snart 😊"), sms(3)]

    results = await provider.send_batch(messages)

    assert results[0] == Accepted("id-1")
    assert results[2] == Accepted("id-3")
    assert results[1] == Failed(
        FailureKind.PERMANENT,
        "text contains characters LINK cannot send (outside the BMP): 😊 (U+1F60A), 🦷 (U+1F9B7)",
    )
    refs = [
        entry["refId"]
        for entry in json.loads(route.calls[0].request.content)["sendRequestMessages"]
    ]
    assert refs == ["msg-1", "msg-3"]


async def test_norwegian_letters_and_euro_are_not_refused(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    api.post("/sms/send").respond(200, json={"messageId": "m1", "resultCode": 1005})

    results = await provider.send_batch([sms(text="Æ Ø Å æ ø å € – ’")])

    assert results == [Accepted("m1")]


async def test_only_emoji_messages_make_no_request(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    route = api.post(path__regex=r"/sms/.*")

    results = await provider.send_batch([sms(text="👍")])

    assert not route.called
    assert isinstance(results[0], Failed)
    assert results[0].kind is FailureKind.PERMANENT


async def test_missing_credentials_fail_every_message_without_a_request(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post(path__regex=r"/sms/.*")
    credentials = {"username": "clinic-user", "password": "", "platform_partner_id": "4242"}
    provider = LinkMobilityProvider(http, BASE_URL, credentials, clock=lambda: NOW)

    results = await provider.send_batch([sms(1), sms(2)])

    expected = Failed(
        FailureKind.PERMANENT,
        "LINK Mobility credentials are incomplete: password, platform_id",
    )
    assert results == [expected, expected]
    assert not route.called


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (
            400,
            {"errorCode": 106200, "description": "Invalid platformId"},
            FailureKind.PERMANENT,
            "106200",
        ),
        (
            401,
            {"errorCode": 106100, "description": "Invalid authentication"},
            FailureKind.PERMANENT,
            "106100",
        ),
        (
            403,
            {"errorCode": 106101, "description": "Access denied"},
            FailureKind.PERMANENT,
            "106101",
        ),
        (
            400,
            {"errorCode": 106000, "description": "Unknown error"},
            FailureKind.PERMANENT,
            "106000",
        ),
        (429, None, FailureKind.RETRYABLE, None),
        (500, None, FailureKind.UNKNOWN_OUTCOME, None),
        (502, {"errorCode": 106000}, FailureKind.UNKNOWN_OUTCOME, "106000"),
        # LINK documents no 503: the request may have been processed.
        (503, None, FailureKind.UNKNOWN_OUTCOME, None),
    ],
)
async def test_http_errors_fail_the_whole_chunk(
    api: respx.MockRouter,
    provider: LinkMobilityProvider,
    status: int,
    body: object,
    kind: FailureKind,
    code: str | None,
) -> None:
    api.post("/sms/sendbatch").respond(status, json=body)

    results = await provider.send_batch([sms(1), sms(2)])

    assert [(r.kind, r.code) for r in results if isinstance(r, Failed)] == [(kind, code)] * 2


async def test_401_reason_is_safe_and_short(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    api.post("/sms/send").respond(401, json={"errorCode": 106100, "description": "nope"})

    [result] = await provider.send_batch([sms()])

    assert result == Failed(
        FailureKind.PERMANENT, "LINK Mobility: invalid authentication (HTTP 401)", "106100"
    )
    assert isinstance(result, Failed)
    assert "s3cret" not in result.reason


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectError("refused"), FailureKind.RETRYABLE),
        (httpx.ConnectTimeout("slow"), FailureKind.RETRYABLE),
        (httpx.ReadTimeout("no answer"), FailureKind.UNKNOWN_OUTCOME),
        (httpx.WriteTimeout("stuck"), FailureKind.UNKNOWN_OUTCOME),
        (httpx.RemoteProtocolError("disconnected"), FailureKind.UNKNOWN_OUTCOME),
    ],
)
async def test_transport_errors(
    api: respx.MockRouter,
    provider: LinkMobilityProvider,
    error: Exception,
    kind: FailureKind,
) -> None:
    api.post("/sms/sendbatch").mock(side_effect=error)

    results = await provider.send_batch([sms(1), sms(2)])

    assert [r.kind for r in results if isinstance(r, Failed)] == [kind, kind]


async def test_a_failed_chunk_does_not_affect_the_others(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    calls = 0

    def first_lost_then_echo(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("lost", request=request)
        entries = json.loads(request.content)["sendRequestMessages"]
        return httpx.Response(200, json=[queued("x", entry["refId"]) for entry in entries])

    api.post("/sms/sendbatch").mock(side_effect=first_lost_then_echo)

    results = await provider.send_batch([sms(number) for number in range(1500)])

    assert {r.kind for r in results[:1000] if isinstance(r, Failed)} == {
        FailureKind.UNKNOWN_OUTCOME
    }
    assert all(isinstance(r, Accepted) for r in results[1000:])


async def test_unexpected_error_in_a_later_chunk_keeps_the_earlier_results(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    calls = 0

    def echo_then_bug(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("bug")
        entries = json.loads(request.content)["sendRequestMessages"]
        return httpx.Response(200, json=[queued("x", entry["refId"]) for entry in entries])

    api.post("/sms/sendbatch").mock(side_effect=echo_then_bug)

    results = await provider.send_batch([sms(number) for number in range(1002)])

    assert all(isinstance(r, Accepted) for r in results[:1000])
    assert [r.kind for r in results[1000:] if isinstance(r, Failed)] == [
        FailureKind.UNKNOWN_OUTCOME
    ] * 2


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json={"unexpected": "object"}),
        httpx.Response(204),
    ],
)
async def test_unreadable_batch_answer_is_unknown_outcome(
    api: respx.MockRouter, provider: LinkMobilityProvider, answer: httpx.Response
) -> None:
    api.post("/sms/sendbatch").mock(return_value=answer)

    results = await provider.send_batch([sms(1), sms(2)])

    assert [r.kind for r in results if isinstance(r, Failed)] == [FailureKind.UNKNOWN_OUTCOME] * 2


async def test_unreadable_single_answer_is_unknown_outcome(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    api.post("/sms/send").respond(200, text="garbage")

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert result.kind is FailureKind.UNKNOWN_OUTCOME


async def test_single_answer_with_a_failure_result_code(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    api.post("/sms/send").respond(200, json={"messageId": "m1", "resultCode": 2002})

    [result] = await provider.send_batch([sms()])

    assert result == Failed(
        FailureKind.PERMANENT,
        "LINK Mobility: alphanumeric sender not supported (result code 2002)",
        "2002",
    )


async def test_empty_input_makes_no_request(
    api: respx.MockRouter, provider: LinkMobilityProvider
) -> None:
    route = api.post(path__regex=r"/sms/.*")

    assert await provider.send_batch([]) == []
    assert not route.called
