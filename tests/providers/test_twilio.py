"""Twilio adapter against a mocked Messages API (2010-04-01; request, answer and error
shapes from Twilio's Message resource and error-code documentation)."""

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from app.core.clock import FixedClock
from app.providers.base import (
    EXPIRED_BEFORE_SENDING,
    PAUSE_BEGAN,
    Accepted,
    Failed,
    FailureKind,
    OutboundSms,
    SenderKind,
    SmsProvider,
)
from app.providers.http import OUT_OF_TIME
from app.providers.twilio import TwilioProvider

BASE_URL = "https://api.twilio.com"
SID = "AC00000000000000000000000000000001"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CREDENTIALS = {"account_sid": SID, "auth_token": "token-xyz"}
CALLBACK = "https://sms.example.no/v1/webhooks/twilio/s3cr3t/delivery"


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
        text="Hei! Husk timen hos tannlegen i morgen kl. 10:00.",
        sender=sender,
        sender_kind=sender_kind,
        expires_at=NOW + expires_in,
    )


def created(sid: str) -> dict[str, object]:
    """A 201 answer shaped like the docs' example Message resource."""
    return {
        "account_sid": SID,
        "api_version": "2010-04-01",
        "body": "Hei!",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": "Tannlegen",
        "num_segments": "1",
        "sid": sid,
        "status": "queued",
        "to": "+4790000001",
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
    }


def twilio_error(code: int, status: int, message: str) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def form(route: respx.Route, call: int = 0) -> dict[str, list[str]]:
    return parse_qs(route.calls[call].request.content.decode())


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def provider(http: httpx.AsyncClient) -> TwilioProvider:
    return TwilioProvider(http, BASE_URL, CREDENTIALS, CALLBACK, clock=lambda: NOW)


def test_implements_the_protocol(provider: TwilioProvider) -> None:
    adapter: SmsProvider = provider
    assert (adapter.name, adapter.max_batch_size) == ("twilio", 1000)


async def test_request_is_the_documented_form(
    api: respx.MockRouter, provider: TwilioProvider
) -> None:
    route = api.post(MESSAGES).respond(201, json=created("SM0123456789abcdef0123456789abcdef"))

    results = await provider.send_batch([sms()])

    assert results == [Accepted("SM0123456789abcdef0123456789abcdef")]
    request = route.calls[0].request
    token = base64.b64encode(f"{SID}:token-xyz".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(route) == {
        "To": ["+4790000001"],
        "From": ["Tannlegen"],
        "Body": ["Hei! Husk timen hos tannlegen i morgen kl. 10:00."],
        "ValidityPeriod": ["3600"],
        "StatusCallback": [f"{CALLBACK}?message_id=msg-1"],
    }
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 10.0,
        "write": 10.0,
        "pool": 10.0,
    }


async def test_short_timeout_caps_connect_too(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post(MESSAGES).respond(201, json=created("SM1"))
    provider = TwilioProvider(http, BASE_URL, CREDENTIALS, None, timeout=2.0, clock=lambda: NOW)

    await provider.send_batch([sms()])

    assert route.calls[0].request.extensions["timeout"]["connect"] == 2.0


async def test_number_sender_and_no_callback(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post(MESSAGES).respond(201, json=created("SM1"))
    provider = TwilioProvider(http, BASE_URL, CREDENTIALS, None, clock=lambda: NOW)

    await provider.send_batch([sms(sender="+4791234567", sender_kind=SenderKind.NUMBER)])

    sent = form(route)
    assert sent["From"] == ["+4791234567"]
    assert "StatusCallback" not in sent


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (timedelta(hours=2), "7200"),
        (timedelta(hours=10), "36000"),
        (timedelta(hours=30), "36000"),  # further than Twilio's maximum: the maximum
        (timedelta(seconds=90.9), "90"),
        (timedelta(milliseconds=400), "1"),  # Twilio's minimum
    ],
)
async def test_validity_period_is_clamped(
    api: respx.MockRouter, provider: TwilioProvider, expires_in: timedelta, expected: str
) -> None:
    route = api.post(MESSAGES).respond(201, json=created("SM1"))

    await provider.send_batch([sms(expires_in=expires_in)])

    assert form(route)["ValidityPeriod"] == [expected]


async def test_results_in_input_order(api: respx.MockRouter, provider: TwilioProvider) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        to = parse_qs(request.content.decode())["To"][0]
        await asyncio.sleep(0.001 * (20 - int(to[-2:])))  # later messages finish first
        return httpx.Response(201, json=created(f"SM-{to}"))

    api.post(MESSAGES).mock(side_effect=answer)
    messages = [sms(number) for number in range(20)]

    results = await provider.send_batch(messages)

    assert results == [Accepted(f"SM-{message.to}") for message in messages]


async def test_concurrency_is_bounded(api: respx.MockRouter, http: httpx.AsyncClient) -> None:
    bound = 4
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
        return httpx.Response(201, json=created("SM1"))

    api.post(MESSAGES).mock(side_effect=answer)
    provider = TwilioProvider(
        http, BASE_URL, CREDENTIALS, None, concurrency=bound, clock=lambda: NOW
    )

    results = await asyncio.wait_for(provider.send_batch([sms(n) for n in range(15)]), 5)

    assert peak == bound
    assert len(results) == 15


async def test_default_concurrency_is_eight(
    api: respx.MockRouter, provider: TwilioProvider
) -> None:
    in_flight = 0
    peak = 0
    full = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= 8:
            full.set()
        await full.wait()
        await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(201, json=created("SM1"))

    api.post(MESSAGES).mock(side_effect=answer)

    await asyncio.wait_for(provider.send_batch([sms(n) for n in range(30)]), 5)

    assert peak == 8


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (
            400,
            twilio_error(21211, 400, "The 'To' number +4790000001 is not valid."),
            FailureKind.PERMANENT,
            "21211",
        ),
        (
            400,
            twilio_error(21610, 400, "Attempt to send to unsubscribed recipient"),
            FailureKind.PERMANENT,
            "21610",
        ),
        (
            400,
            twilio_error(21408, 400, "Permission to send an SMS has not been enabled"),
            FailureKind.PERMANENT,
            "21408",
        ),
        (400, twilio_error(21611, 400, "Queue full"), FailureKind.RETRYABLE, "21611"),
        (400, twilio_error(21999, 400, "Something new"), FailureKind.PERMANENT, "21999"),
        (401, twilio_error(20003, 401, "Authenticate"), FailureKind.PERMANENT, "20003"),
        (
            404,
            twilio_error(20404, 404, "The requested resource was not found"),
            FailureKind.PERMANENT,
            "20404",
        ),
        (429, twilio_error(20429, 429, "Too Many Requests"), FailureKind.RETRYABLE, "20429"),
        (429, None, FailureKind.RETRYABLE, None),
        (
            500,
            twilio_error(20500, 500, "Internal Server Error"),
            FailureKind.UNKNOWN_OUTCOME,
            "20500",
        ),
        (500, None, FailureKind.UNKNOWN_OUTCOME, None),
        (503, twilio_error(20503, 503, "Service unavailable"), FailureKind.RETRYABLE, "20503"),
        (503, None, FailureKind.RETRYABLE, None),
    ],
)
async def test_http_errors(
    api: respx.MockRouter,
    provider: TwilioProvider,
    status: int,
    body: object,
    kind: FailureKind,
    code: str | None,
) -> None:
    api.post(MESSAGES).respond(status, json=body)

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert (result.kind, result.code) == (kind, code)
    assert "+47" not in result.reason


async def test_unsubscribed_reason(api: respx.MockRouter, provider: TwilioProvider) -> None:
    api.post(MESSAGES).respond(400, json=twilio_error(21610, 400, "unsubscribed"))

    [result] = await provider.send_batch([sms()])

    assert result == Failed(
        FailureKind.PERMANENT, "Twilio: recipient has unsubscribed (STOP) (HTTP 400)", "21610"
    )


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
    api: respx.MockRouter, provider: TwilioProvider, error: Exception, kind: FailureKind
) -> None:
    api.post(MESSAGES).mock(side_effect=error)

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert result.kind is kind


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, text="<Response><Message/></Response>"),
        httpx.Response(201, json={"status": "queued"}),
    ],
)
async def test_unreadable_answer_is_unknown_outcome(
    api: respx.MockRouter, provider: TwilioProvider, answer: httpx.Response
) -> None:
    api.post(MESSAGES).mock(return_value=answer)

    [result] = await provider.send_batch([sms()])

    assert isinstance(result, Failed)
    assert result.kind is FailureKind.UNKNOWN_OUTCOME


async def test_missing_credentials_fail_every_message_without_a_request(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = api.post(path__regex=r"/2010-04-01/.*")
    provider = TwilioProvider(http, BASE_URL, {"account_sid": "", "auth_token": ""}, None)

    results = await provider.send_batch([sms(1), sms(2)])

    expected = Failed(
        FailureKind.PERMANENT, "Twilio credentials are incomplete: account_sid, auth_token"
    )
    assert results == [expected, expected]
    assert not route.called


async def test_no_request_starts_after_the_window_closed(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """One request at a time: the last may start minutes after the first, so the adapter
    asks before each whether the message may still go."""
    clock = FixedClock(NOW)
    answered: list[str] = []

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        clock.advance(seconds=60)  # each request takes a minute
        answered.append(f"SM-{len(answered) + 1}")
        return httpx.Response(201, json=created(answered[-1]))

    route = api.post(MESSAGES).mock(side_effect=slow_answer)
    provider = TwilioProvider(http, BASE_URL, CREDENTIALS, CALLBACK, concurrency=1, clock=clock.now)
    pause = NOW + timedelta(minutes=2)
    messages = [
        sms(1),
        replace(sms(2), send_by=pause),
        replace(sms(3), send_by=pause),  # starts at NOW + 2 min: the pause has begun
        sms(4, expires_in=timedelta(minutes=2)),  # and expired by then
        sms(5),
    ]

    results = await provider.send_batch(messages)

    assert results == [
        Accepted("SM-1"),
        Accepted("SM-2"),
        PAUSE_BEGAN,
        EXPIRED_BEFORE_SENDING,
        Accepted("SM-3"),
    ]
    assert len(route.calls) == 3


async def test_a_provider_too_slow_to_finish_the_batch_leaves_the_rest_untried(
    api: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)

    async def hanging(request: httpx.Request) -> httpx.Response:
        clock.advance(seconds=90)  # each request takes a minute and a half
        return httpx.Response(201, json=created("SM-slow"))

    route = api.post(MESSAGES).mock(side_effect=hanging)
    provider = TwilioProvider(http, BASE_URL, CREDENTIALS, CALLBACK, concurrency=1, clock=clock.now)
    messages = [sms(number, expires_in=timedelta(hours=2)) for number in range(1, 6)]

    results = await provider.send_batch(messages)

    # Requests start at 0, 1.5 and 3 minutes; at 4.5 the batch's four minutes are up.
    assert results[:3] == [Accepted("SM-slow")] * 3
    assert results[3:] == [OUT_OF_TIME, OUT_OF_TIME]
    assert OUT_OF_TIME.kind is FailureKind.RETRYABLE
    assert len(route.calls) == 3
