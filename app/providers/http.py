"""Shared HTTP plumbing for the provider adapters: timeouts, outcome tables, helpers.

Every classification here is data. The rule the tables encode (see `app.providers.base`):
a failure is RETRYABLE only when the provider provably did not take the request; when the
request may have reached the provider and we cannot tell what happened, it is
UNKNOWN_OUTCOME, never RETRYABLE.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx

from app.providers.base import (
    OUT_OF_TIME_CODE,
    Accepted,
    Failed,
    FailureKind,
    OutboundSms,
    SendResult,
    too_late,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE = FailureKind.RETRYABLE
PERMANENT = FailureKind.PERMANENT
UNKNOWN = FailureKind.UNKNOWN_OUTCOME

KindAndReason = tuple[FailureKind, str]
Clock = Callable[[], datetime]

MAX_CONNECT_TIMEOUT = 5.0

# Transport errors, most specific first: the first `isinstance` match wins.
EXCEPTION_OUTCOMES: tuple[tuple[type[httpx.HTTPError], FailureKind, str], ...] = (
    (httpx.ConnectTimeout, RETRYABLE, "could not connect in time; nothing was sent"),
    (httpx.ConnectError, RETRYABLE, "could not connect; nothing was sent"),
    (httpx.PoolTimeout, RETRYABLE, "no free connection in time; nothing was sent"),
    (httpx.UnsupportedProtocol, PERMANENT, "the base URL has an unsupported scheme"),
    (httpx.ReadTimeout, UNKNOWN, "no answer in time after the request was sent"),
    (httpx.WriteTimeout, UNKNOWN, "timed out while sending the request"),
    (httpx.RemoteProtocolError, UNKNOWN, "the connection broke after the request was sent"),
    (httpx.ReadError, UNKNOWN, "the connection failed while reading the answer"),
    (httpx.WriteError, UNKNOWN, "the connection failed while sending the request"),
)
OTHER_EXCEPTION_OUTCOME: KindAndReason = (UNKNOWN, "transport error after sending began")

# HTTP statuses every provider shares; each adapter extends this with what its docs add.
COMMON_STATUS_OUTCOMES: Mapping[int, KindAndReason] = {
    400: (PERMANENT, "request rejected as invalid"),
    401: (PERMANENT, "credentials rejected"),
    403: (PERMANENT, "request forbidden (check the account's permissions)"),
    404: (PERMANENT, "endpoint or account not found (check the base URL and account id)"),
    405: (PERMANENT, "method not allowed (check the base URL)"),
    413: (PERMANENT, "request too large"),
    415: (PERMANENT, "content type not accepted"),
    429: (RETRYABLE, "rate limited; the request was not processed"),
}
# Statuses in no table fall back by class: a 4xx is a refusal, anything else is unknown.
STATUS_CLASS_OUTCOMES: Mapping[int, KindAndReason] = {
    4: (PERMANENT, "request refused"),
    5: (UNKNOWN, "server error after the request was sent"),
}
OTHER_STATUS_OUTCOME: KindAndReason = (UNKNOWN, "unexpected HTTP status")


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` on every request."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def request_timeout(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, connect=min(MAX_CONNECT_TIMEOUT, timeout))


def utc_now() -> datetime:
    return datetime.now(UTC)


def missing_credentials(credentials: Mapping[str, str], required: Sequence[str]) -> list[str]:
    return [key for key in required if not credentials.get(key, "").strip()]


def failed_for_all(count: int, failure: Failed) -> list[SendResult]:
    return [failure] * count


def failure_for_exception(label: str, exc: httpx.HTTPError) -> Failed:
    kind, reason = next(
        ((kind, reason) for cls, kind, reason in EXCEPTION_OUTCOMES if isinstance(exc, cls)),
        OTHER_EXCEPTION_OUTCOME,
    )
    logger.warning(
        "provider request failed", extra={"provider": label, "error": type(exc).__name__}
    )
    return Failed(kind, f"{label}: {reason} ({type(exc).__name__})")


def failure_for_status(
    label: str,
    status: int,
    provider_code: str | None,
    codes: Mapping[str, KindAndReason],
    statuses: Mapping[int, KindAndReason],
) -> Failed:
    """Classify an error answer: the provider's own code first, then the HTTP status."""
    outcome = codes.get(provider_code) if provider_code is not None else None
    if outcome is None:
        outcome = statuses.get(status) or STATUS_CLASS_OUTCOMES.get(
            status // 100, OTHER_STATUS_OUTCOME
        )
    kind, reason = outcome
    return Failed(kind, f"{label}: {reason} (HTTP {status})", provider_code)


def unreadable_answer(label: str, status: int) -> Failed:
    return Failed(UNKNOWN, f"{label}: the answer was unreadable (HTTP {status})")


async def post(
    http: httpx.AsyncClient,
    url: str,
    *,
    label: str,
    time_limit: float,
    auth: httpx.Auth,
    headers: Mapping[str, str] | None = None,
    json: object = None,
    data: Mapping[str, str] | None = None,
) -> httpx.Response | Failed:
    """POST once; a transport error comes back as a classified `Failed`, never raised."""
    try:
        return await http.post(
            url,
            auth=auth,
            headers=headers,
            json=json,
            data=data,
            timeout=request_timeout(time_limit),
        )
    except httpx.HTTPError as exc:
        return failure_for_exception(label, exc)


def read_json(response: httpx.Response) -> object:
    """The decoded body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def provider_code(body: object, key: str) -> str | None:
    """The provider's own error code from an error body, as a string."""
    if not isinstance(body, Mapping):
        return None
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def seconds_until(moment: datetime, now: datetime) -> float:
    return (moment - now).total_seconds()


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def gather_bounded(
    items: Sequence[T],
    send: Callable[[T], Awaitable[SendResult]],
    *,
    limit: int,
    label: str,
) -> list[SendResult]:
    """Run `send` for every item, at most `limit` at a time; results in input order.

    An unexpected exception from one send becomes UNKNOWN_OUTCOME for that message only,
    so the results of the others (which may already be at the provider) are never lost.
    """
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> SendResult:
        async with semaphore:
            try:
                return await send(item)
            except Exception as exc:  # at-most-once: never lose the siblings' results
                return unexpected_failure(label, exc)

    return list(await asyncio.gather(*(one(item) for item in items)))


def unexpected_failure(label: str, exc: Exception) -> Failed:
    """A bug, not a provider answer: the request may have gone out, so UNKNOWN_OUTCOME."""
    logger.exception("provider adapter error", extra={"provider": label})
    return Failed(UNKNOWN, f"{label}: unexpected error ({type(exc).__name__})")


def log_result(label: str, message_id: str, result: SendResult) -> None:
    if isinstance(result, Accepted):
        if logger.isEnabledFor(logging.DEBUG):  # a batch's thousand extras, built for nothing
            logger.debug("provider accepted", extra={"provider": label, "message_id": message_id})
        return
    logger.warning(
        "provider did not accept",
        extra={
            "provider": label,
            "message_id": message_id,
            "kind": result.kind.value,
            "code": result.code,
            "reason": result.reason,
        },
    )


# A batch stops starting requests after this long: a provider hanging on each request
# (10 s timeouts, 8 at a time, 1,000 messages) would otherwise outlast the worker's
# dispatch job timeout (10 min), and a cancelled job leaves never-tried messages to be
# settled as sent/unknown. What is left is RETRYABLE: nothing was sent.
BATCH_TIME_BUDGET = timedelta(minutes=4)
OUT_OF_TIME = Failed(
    RETRYABLE, "not sent: the provider answered too slowly to finish the batch", OUT_OF_TIME_CODE
)


class PerMessageProvider:
    """An adapter whose provider takes one message per request: it checks the credentials
    once, then sends with bounded concurrency and logs each outcome. Subclasses set `name`,
    `label` and `required_credentials`, and implement `_send_one`."""

    name: str
    label: str
    required_credentials: tuple[str, ...]
    max_batch_size = 1000

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: Mapping[str, str],
        callback_url: str | None,
        timeout: float = 10.0,
        concurrency: int = 8,
        clock: Clock = utc_now,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = dict(credentials)
        self._callback_url = callback_url
        self._timeout = timeout
        self._concurrency = concurrency
        self._clock = clock

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        missing = missing_credentials(self._credentials, self.required_credentials)
        if missing:
            reason = f"{self.label} credentials are incomplete: {', '.join(missing)}"
            return failed_for_all(len(messages), Failed(PERMANENT, reason))
        stop_starting = self._clock() + BATCH_TIME_BUDGET

        async def send(sms: OutboundSms) -> SendResult:
            return await self._send_logged(sms, stop_starting)

        return await gather_bounded(messages, send, limit=self._concurrency, label=self.label)

    async def _send_logged(self, sms: OutboundSms, stop_starting: datetime) -> SendResult:
        now = self._clock()
        result = (
            (OUT_OF_TIME if now >= stop_starting else None)
            or too_late(sms, now)
            or await self._send_one(sms)
        )
        log_result(self.label, sms.message_id, result)
        return result

    async def _send_one(self, sms: OutboundSms) -> SendResult:
        raise NotImplementedError
