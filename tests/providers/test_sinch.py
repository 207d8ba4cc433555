"""Sinch adapter against a mocked SMS REST API (xms v1; request, answer and error shapes
from the Sinch "Batches" and "HTTP status codes" documentation)."""

import asyncio
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
from app.providers.sinch import SinchProvider

BASE_URL = "https://eu.sms.api.sinch.com"
PLAN = "a1b2c3d4e5"
BATCHES = f"/xms/v1/{PLAN}/batches"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CREDENTIALS = {"service_plan_id": PLAN, "api_token": "tok-123"}
CALLBACK = "https://sms.example.no/v1/webhooks/sinch/s3cr3t/delivery"


def sms(
    number: int = 1,
    *,
    sender: str = "Tannlegen",
    sender_kind: SenderKind = SenderKind.ALPHANUMERIC,
    expires_in: timedelta = timedelta(hours=1),
) -> OutboundSms:
    return OutboundSms(
        message_id=f"msg-{number}",
        to=f"+479{number:07d}",
        text="Hei! Husk timen hos tannlegen i morgen kl. 10:00. Svar JA for å bekrefte.",
        sender=sender,
        sender_kind=sender_kind,
        expires_at=NOW + expires_in,
    )


def created(batch_id: str, to: str = "4790000001") -> dict[str, object]:
    """A 201 answer as in the docs: the request echoed plus id and timestamps."""
    return {
        "id": batch_id,
        "from": "Tannlegen",
        "to": [to],
        "body": "Hei!",
        "type": "mt_text",
        "created_at": "2026-11-30T10:00:00.123Z",
        "modified_at": "2026-11-30T10:00:00.123Z",
        "canceled": False,
        "delivery_report": "per_recipient",
    }


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def provider(http: httpx.AsyncClient) -> SinchProvider:
    return SinchProvider(http, BASE_URL, CREDENTIALS, CALLBACK, clock=lambda: NOW)


def test_implements_the_protocol(provider: SinchProvider) -> None:
    adapter: SmsProvider = provider
    assert (adapter.name, adapter.max_batch_size) == ("sinch", 1000)


async def test_request_matches_the_documented_batch(
    api: respx.MockRouter, provider: SinchProvider
) -> None:
    route = api.post(BATCHES).respond(201, json=created("01FC66621XXXXX119Z8PMV1QPQ"))

    results = await provider.send_batch([sms()])

    assert results == [Accepted("01FC66621XXXXX119Z8PMV1QPQ")]
    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "from": "Tannlegen",
        "to": ["+4790000001"],
        "body": "Hei! Husk timen hos tannlegen i morgen kl. 10:00. Svar JA for å bekrefte.",
        "client_reference": "msg-1",
        "delivery_report": "per_recipient",
        "expire_at": "2026-11-30T11:00:00.000Z",
        "callback_url": CALLBACK,
    }
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 10.0,
        "write": 10.0,
        "pool": 10.0,
    }


async def test_number_sender_and_no_callback(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post(BATCHES).respond(201, json=created("b1"))
    provider = SinchProvider(http, BASE_URL, CREDENTIALS, None, clock=lambda: NOW)

    await provider.send_batch([sms(sender="+4791234567", sender_kind=SenderKind.NUMBER)])

    body = json.loads(route.calls[0].request.content)
    assert body["from"] == "+4791234567"
    assert "callback_url" not in body


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (timedelta(hours=30), "2026-12-01T16:00:00.000Z"),
        (timedelta(seconds=5), "2026-11-30T10:01:00.000Z"),  # at least a minute ahead
        (timedelta(days=10), "2026-12-03T10:00:00.000Z"),  # Sinch's 3-day maximum
    ],
)
async def test_expire_at_stays_in_sinchs_window(
    api: respx.MockRouter, provider: SinchProvider, expires_in: timedelta, expected: str
) -> None:
    route = api.post(BATCHES).respond(201, json=created("b1"))

    await provider.send_batch([sms(expires_in=expires_in)])

    assert json.loads(route.calls[0].request.content)["expire_at"] == expected


async def test_one_request_per_message_results_in_input_order(
    api: respx.MockRouter, provider: SinchProvider
) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        reference = json.loads(request.content)["client_reference"]
        number = int(reference.removeprefix("msg-"))
        await asyncio.sleep(0.001 * (10 - number))  # later messages finish first
        return httpx.Response(201, json=created(f"batch-{reference}"))

    route = api.post(BATCHES).mock(side_effect=answer)

    results = await provider.send_batch([sms(number) for number in range(10)])

    assert route.call_count == 10
    assert results == [Accepted(f"batch-msg-{number}") for number in range(10)]


async def test_concurrency_is_bounded(api: respx.MockRouter, http: httpx.AsyncClient) -> None:
    bound = 3
    in_flight = 0
    peak = 0
    full = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= bound:
            full.set()
        await full.wait()
        await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(201, json=created("b"))

    api.post(BATCHES).mock(side_effect=answer)
    provider = SinchProvider(
        http, BASE_URL, CREDENTIALS, None, concurrency=bound, clock=lambda: NOW
    )

    results = await asyncio.wait_for(provider.send_batch([sms(n) for n in range(12)]), 5)

    assert peak == bound
    assert all(isinstance(result, Accepted) for result in results)


def test_concurrency_must_be_positive(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        SinchProvider(http, BASE_URL, CREDENTIALS, None, concurrency=0)


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (
            400,
            {"code": "syntax_invalid_parameter_format", "text": "Invalid MSISDN format: +47..."},
            FailureKind.PERMANENT,
            "syntax_invalid_parameter_format",
        ),
        (
            400,
            {"code": "syntax_constraint_violation", "text": "expire_at must be after send_at"},
            FailureKind.PERMANENT,
            "syntax_constraint_violation",
        ),
        (
            403,
            {"code": "missing_callback_url", "text": "Callback URL missing"},
            FailureKind.PERMANENT,
            "missing_callback_url",
        ),
        (401, None, FailureKind.PERMANENT, None),
        (404, None, FailureKind.PERMANENT, None),
        (429, None, FailureKind.RETRYABLE, None),
        (500, None, FailureKind.UNKNOWN_OUTCOME, None),
        (503, None, FailureKind.RETRYABLE, None),
        (504, None, FailureKind.UNKNOWN_OUTCOME, None),
    ],
)
async def test_http_errors(
    api: respx.MockRouter,
    provider: SinchProvider,
    status: int,
    body: object,
    kind: FailureKind,
    code: str | None,
) -> None:
    api.post(BATCHES).respond(status, json=body)

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert (result.kind, result.code) == (kind, code)
    assert "+47" not in result.reason  # the provider's text (which may hold a number) is not kept


async def test_error_reason_is_ours(api: respx.MockRouter, provider: SinchProvider) -> None:
    api.post(BATCHES).respond(401, text="Unauthorized")

    [result] = await provider.send_batch([sms()])

    assert result == Failed(
        FailureKind.PERMANENT, "Sinch: API token rejected for this service plan (HTTP 401)"
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectError("refused"), FailureKind.RETRYABLE),
        (httpx.PoolTimeout("busy"), FailureKind.RETRYABLE),
        (httpx.ReadTimeout("no answer"), FailureKind.UNKNOWN_OUTCOME),
        (httpx.WriteTimeout("stuck"), FailureKind.UNKNOWN_OUTCOME),
        (httpx.RemoteProtocolError("disconnected"), FailureKind.UNKNOWN_OUTCOME),
        (httpx.ReadError("reset"), FailureKind.UNKNOWN_OUTCOME),
    ],
)
async def test_transport_errors(
    api: respx.MockRouter, provider: SinchProvider, error: Exception, kind: FailureKind
) -> None:
    api.post(BATCHES).mock(side_effect=error)

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert result.kind is kind


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, text="not json"),
        httpx.Response(201, json={"no_id": True}),
        httpx.Response(201, json=["unexpected"]),
    ],
)
async def test_unreadable_answer_is_unknown_outcome(
    api: respx.MockRouter, provider: SinchProvider, answer: httpx.Response
) -> None:
    api.post(BATCHES).mock(return_value=answer)

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert result.kind is FailureKind.UNKNOWN_OUTCOME


async def test_one_failure_does_not_affect_the_others(
    api: respx.MockRouter, provider: SinchProvider
) -> None:
    api.post(BATCHES).mock(
        side_effect=[
            httpx.Response(201, json=created("b1")),
            httpx.ReadTimeout("lost"),
            httpx.Response(201, json=created("b3")),
        ]
    )
    provider = SinchProvider(
        provider._http, BASE_URL, CREDENTIALS, None, concurrency=1, clock=lambda: NOW
    )

    results = await provider.send_batch([sms(1), sms(2), sms(3)])

    assert results[0] == Accepted("b1")
    assert isinstance(results[1], Failed)
    assert results[1].kind is FailureKind.UNKNOWN_OUTCOME
    assert results[2] == Accepted("b3")


async def test_unexpected_adapter_error_is_unknown_outcome_for_that_message_only(
    api: respx.MockRouter, provider: SinchProvider
) -> None:
    api.post(BATCHES).mock(
        side_effect=[httpx.Response(201, json=created("b1")), RuntimeError("bug")]
    )
    provider = SinchProvider(
        provider._http, BASE_URL, CREDENTIALS, None, concurrency=1, clock=lambda: NOW
    )

    results = await provider.send_batch([sms(1), sms(2)])

    assert results[0] == Accepted("b1")
    assert isinstance(results[1], Failed)
    assert results[1].kind is FailureKind.UNKNOWN_OUTCOME


async def test_missing_credentials_fail_every_message_without_a_request(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post(path__regex=r"/xms/.*")
    provider = SinchProvider(http, BASE_URL, {"service_plan_id": PLAN}, None)

    results = await provider.send_batch([sms(1), sms(2)])

    expected = Failed(FailureKind.PERMANENT, "Sinch credentials are incomplete: api_token")
    assert results == [expected, expected]
    assert not route.called
