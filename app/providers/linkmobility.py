"""LINK Mobility adapter for the "Common" SMS REST API (MT and delivery reports, v1.18).

One message goes to `POST {base}/sms/send`; several go to `POST {base}/sms/sendbatch`, at
most 1,000 per request, whose answer lists one result per message. LINK refuses
characters outside the Basic Multilingual Plane (emoji), so such messages are failed here
for good without being sent; the rest of the batch still goes.

A batch has one validity: `relativeValidityTime` exists only at the top level of
`/sms/sendbatch`, and each entry of `sendRequestMessages[]` carries only its own
documented fields. So messages are grouped by validity first: under an hour in steps of a
minute, longer in steps of a quarter hour. A batch takes the shortest validity of its
messages, so none can arrive after its own expiry; none loses more than one step.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime

import httpx

from app.providers.base import (
    Accepted,
    Failed,
    OutboundSms,
    SenderKind,
    SendResult,
)
from app.providers.capabilities import BMP_ONLY, describe_characters
from app.providers.http import (
    COMMON_STATUS_OUTCOMES,
    PERMANENT,
    RETRYABLE,
    UNKNOWN,
    Clock,
    KindAndReason,
    chunked,
    clamp,
    failed_for_all,
    failure_for_status,
    log_result,
    missing_credentials,
    post,
    provider_code,
    read_json,
    seconds_until,
    unexpected_failure,
    unreadable_answer,
    utc_now,
)

LABEL = "LINK Mobility"
BATCH_LIMIT = 1000
REQUIRED_CREDENTIALS = ("username", "password", "platform_id", "platform_partner_id")
MIN_VALIDITY_SECONDS = 60.0
# LINK's default validity and the documented ceiling for absoluteValidityTime.
MAX_VALIDITY_SECONDS = 48 * 3600.0
# Validity groups (see the module docstring).
FINE_VALIDITY_STEP_SECONDS = 60
COARSE_VALIDITY_STEP_SECONDS = 15 * 60
COARSE_VALIDITY_FROM_SECONDS = 3600
SHORT_NUMBER_MAX_DIGITS = 8

# Per-message resultCode in a send answer: queued, sent on, or billed means LINK has it.
ACCEPTED_RESULT_CODES = frozenset({1000, 1001, 1005, 1007, 1008, 1011, 1012, 1013})

# Every other documented resultCode is final. "Not delivered" codes with a transient
# cause are RETRYABLE (LINK holds nothing); "delivery unknown" codes are UNKNOWN.
RESULT_CODE_OUTCOMES: Mapping[int, KindAndReason] = {
    0: (PERMANENT, "unknown error, not delivered"),
    1: (RETRYABLE, "temporary routing error"),
    2: (PERMANENT, "permanent routing error"),
    3: (RETRYABLE, "throttling limit exceeded"),
    4: (UNKNOWN, "timeout, delivery unknown"),
    5: (UNKNOWN, "unknown operator error, delivery unknown"),
    6: (PERMANENT, "operator error"),
    104: (PERMANENT, "configuration error"),
    105: (RETRYABLE, "internal LINK error, not delivered"),
    1002: (PERMANENT, "expired"),
    1003: (PERMANENT, "deleted"),
    1004: (PERMANENT, "recipient's phone is full"),
    1006: (PERMANENT, "not delivered"),
    1009: (PERMANENT, "billed but not delivered"),
    1010: (UNKNOWN, "expired without an operator report"),
    2000: (PERMANENT, "invalid sender"),
    2001: (PERMANENT, "short-number sender not supported"),
    2002: (PERMANENT, "alphanumeric sender not supported"),
    2003: (PERMANENT, "MSISDN sender not supported"),
    2100: (PERMANENT, "short-number destination not supported"),
    2101: (PERMANENT, "alphanumeric destination not supported"),
    2102: (PERMANENT, "MSISDN destination not supported"),
    2103: (PERMANENT, "operation blocked"),
    2104: (PERMANENT, "unknown subscriber"),
    2105: (PERMANENT, "destination permanently barred"),
    2106: (PERMANENT, "number error"),
    2107: (PERMANENT, "destination temporarily barred"),
    2200: (PERMANENT, "charging error"),
    2201: (PERMANENT, "subscriber balance too low"),
    2202: (PERMANENT, "subscriber overcharged"),
    2203: (PERMANENT, "subscriber too young"),
    2204: (PERMANENT, "prepaid subscriber not allowed"),
    2205: (PERMANENT, "service rejected by subscriber"),
    2206: (PERMANENT, "subscriber not registered"),
    2207: (PERMANENT, "subscriber at maximum balance"),
    3000: (PERMANENT, "GSM encoding not supported"),
    3001: (PERMANENT, "UCS2 encoding not supported"),
    3002: (PERMANENT, "binary encoding not supported"),
    4000: (PERMANENT, "delivery reports not supported"),
    4001: (PERMANENT, "invalid message content"),
    4002: (PERMANENT, "invalid tariff"),
    4003: (PERMANENT, "invalid user data"),
    4004: (PERMANENT, "invalid user data header"),
    4005: (PERMANENT, "invalid data coding"),
    4006: (PERMANENT, "invalid VAT"),
    4007: (PERMANENT, "content not supported by the destination"),
}

# `errorCode` in the ErrorResponse of a refused request (HTTP 4xx). 106000 (unknown
# error) is left to the HTTP status.
ERROR_CODE_OUTCOMES: Mapping[str, KindAndReason] = {
    "106100": (PERMANENT, "invalid authentication"),
    "106101": (PERMANENT, "access denied"),
    "106200": (PERMANENT, "invalid or missing platformId"),
    "106201": (PERMANENT, "invalid or missing platformPartnerId"),
    "106202": (PERMANENT, "invalid or missing currency"),
    "106300": (PERMANENT, "no gates available"),
    "106301": (PERMANENT, "the delivery-report gate is unavailable"),
}

# LINK documents 400/401/403 only. 429 is a refusal by definition; a 503 or any other
# 5xx is undocumented, so the request may have been processed: UNKNOWN (class default).
STATUS_OUTCOMES: Mapping[int, KindAndReason] = COMMON_STATUS_OUTCOMES

MISSING_FROM_ANSWER = Failed(UNKNOWN, f"{LABEL}: the batch answer did not mention this message")


class LinkMobilityProvider:
    name = "linkmobility"
    max_batch_size = BATCH_LIMIT
    text_capability = BMP_ONLY

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: Mapping[str, str],
        timeout: float = 10.0,
        clock: Clock = utc_now,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = dict(credentials)
        self._timeout = timeout
        self._clock = clock

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        missing = missing_credentials(self._credentials, REQUIRED_CREDENTIALS)
        if missing:
            reason = f"LINK Mobility credentials are incomplete: {', '.join(missing)}"
            return failed_for_all(len(messages), Failed(PERMANENT, reason))
        results: dict[int, SendResult] = {}
        sendable: list[int] = []
        for index, sms in enumerate(messages):
            refusal = non_bmp_refusal(sms.text)
            if refusal is None:
                sendable.append(index)
            else:
                results[index] = refusal
        for group in validity_groups(messages, sendable, self._clock()):
            for chunk in chunked(group, BATCH_LIMIT):
                chunk_results = await self._send_chunk([messages[index] for index in chunk])
                results.update(zip(chunk, chunk_results, strict=True))
        ordered = [results[index] for index in range(len(messages))]
        for sms, result in zip(messages, ordered, strict=True):
            log_result(LABEL, sms.message_id, result)
        return ordered

    async def _send_chunk(self, chunk: Sequence[OutboundSms]) -> list[SendResult]:
        try:
            return await self._send_chunk_unguarded(chunk)
        except Exception as exc:  # at-most-once: earlier chunks' results must survive
            return failed_for_all(len(chunk), unexpected_failure(LABEL, exc))

    async def _send_chunk_unguarded(self, chunk: Sequence[OutboundSms]) -> list[SendResult]:
        now = self._clock()
        if len(chunk) == 1:
            return [await self._send_one(chunk[0], now)]
        return await self._send_many(chunk, now)

    async def _send_one(self, sms: OutboundSms, now: datetime) -> SendResult:
        body = {
            **message_fields(sms),
            "relativeValidityTime": validity_ms(sms.expires_at, now),
            **self._account_fields(),
        }
        response = await self._post("/sms/send", body)
        if isinstance(response, Failed):
            return response
        if not response.is_success:
            return self._refusal(response)
        answer = read_json(response)
        if not isinstance(answer, Mapping):
            return unreadable_answer(LABEL, response.status_code)
        return entry_result(answer)

    async def _send_many(self, chunk: Sequence[OutboundSms], now: datetime) -> list[SendResult]:
        body = {
            **self._account_fields(),
            "relativeValidityTime": min(validity_ms(sms.expires_at, now) for sms in chunk),
            "sendRequestMessages": [message_fields(sms) for sms in chunk],
        }
        response = await self._post("/sms/sendbatch", body)
        if isinstance(response, Failed):
            return failed_for_all(len(chunk), response)
        if not response.is_success:
            return failed_for_all(len(chunk), self._refusal(response))
        answer = read_json(response)
        if not isinstance(answer, list):
            return failed_for_all(len(chunk), unreadable_answer(LABEL, response.status_code))
        return pair_answers(chunk, answer)

    async def _post(self, path: str, body: Mapping[str, object]) -> httpx.Response | Failed:
        return await post(
            self._http,
            f"{self._base_url}{path}",
            label=LABEL,
            time_limit=self._timeout,
            auth=httpx.BasicAuth(self._credentials["username"], self._credentials["password"]),
            headers={"Accept": "application/json"},
            json=body,
        )

    def _account_fields(self) -> dict[str, object]:
        gate_id = self._credentials.get("gate_id", "").strip()
        fields: dict[str, object] = {
            "platformId": self._credentials["platform_id"],
            "platformPartnerId": self._credentials["platform_partner_id"],
            # LINK requires false when no gate is given; its default is true.
            "useDeliveryReport": bool(gate_id),
            # The documented default is ambiguous; we need the answer body.
            "ignoreResponse": False,
        }
        if gate_id:
            fields["deliveryReportGates"] = [gate_id]
        return fields

    def _refusal(self, response: httpx.Response) -> Failed:
        code = provider_code(read_json(response), "errorCode")
        return failure_for_status(
            LABEL, response.status_code, code, ERROR_CODE_OUTCOMES, STATUS_OUTCOMES
        )


def non_bmp_refusal(text: str) -> Failed | None:
    characters = LinkMobilityProvider.text_capability.cannot_carry(text)
    if not characters:
        return None
    return Failed(
        PERMANENT,
        "text contains characters LINK cannot send (outside the BMP): "
        + describe_characters(characters),
    )


def source_fields(sms: OutboundSms) -> tuple[str, str]:
    """The sender and its type of number (TON) as LINK expects them."""
    if sms.sender_kind is SenderKind.ALPHANUMERIC:
        return sms.sender, "ALPHANUMERIC"
    if sms.sender.isdigit() and len(sms.sender) <= SHORT_NUMBER_MAX_DIGITS:
        return sms.sender, "SHORTNUMBER"
    return sms.sender, "MSISDN"


def validity_seconds(expires_at: datetime, now: datetime) -> float:
    return clamp(seconds_until(expires_at, now), MIN_VALIDITY_SECONDS, MAX_VALIDITY_SECONDS)


def validity_ms(expires_at: datetime, now: datetime) -> int:
    return int(validity_seconds(expires_at, now) * 1000)


def validity_group(expires_at: datetime, now: datetime) -> int:
    """The start, in seconds, of the validity step a message falls in."""
    seconds = validity_seconds(expires_at, now)
    step = (
        COARSE_VALIDITY_STEP_SECONDS
        if seconds >= COARSE_VALIDITY_FROM_SECONDS
        else FINE_VALIDITY_STEP_SECONDS
    )
    return int(seconds // step) * step


def validity_groups(
    messages: Sequence[OutboundSms], indexes: Sequence[int], now: datetime
) -> list[list[int]]:
    """`indexes` of `messages` grouped by validity step, each group in input order."""
    groups: dict[int, list[int]] = {}
    for index in indexes:
        groups.setdefault(validity_group(messages[index].expires_at, now), []).append(index)
    return list(groups.values())


def message_fields(sms: OutboundSms) -> dict[str, object]:
    """An entry of `sendRequestMessages[]`: only the per-message fields LINK documents."""
    source, source_ton = source_fields(sms)
    return {
        "source": source,
        "sourceTON": source_ton,
        "destination": sms.to,
        "userData": sms.text,
        "refId": sms.message_id,
    }


def result_code(entry: Mapping[str, object]) -> int | None:
    value = entry.get("resultCode")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def entry_result(entry: Mapping[str, object]) -> SendResult:
    """One message's result from a send answer (`messageId`, `resultCode`)."""
    code = result_code(entry)
    message_id = entry.get("messageId")
    if code is None or code in ACCEPTED_RESULT_CODES:
        if isinstance(message_id, str) and message_id:
            return Accepted(message_id)
        return Failed(UNKNOWN, f"{LABEL}: answered without a message id", _code_text(code))
    kind, reason = RESULT_CODE_OUTCOMES.get(code, (UNKNOWN, "unexpected result code"))
    return Failed(kind, f"{LABEL}: {reason} (result code {code})", str(code))


def _code_text(code: int | None) -> str | None:
    return None if code is None else str(code)


def pair_answers(chunk: Sequence[OutboundSms], answer: list[object]) -> list[SendResult]:
    """Match a batch answer to its messages: by echoed refId, else by position."""
    entries: list[Mapping[str, object]] = []
    by_ref: dict[str, list[Mapping[str, object]]] = {}
    for entry in answer:
        if not isinstance(entry, Mapping):
            continue
        entries.append(entry)
        ref_id = entry.get("refId")
        if isinstance(ref_id, str):
            if ref_id in by_ref:
                by_ref[ref_id].append(entry)
            else:
                by_ref[ref_id] = [entry]
    if by_ref:
        return [_take(by_ref, sms.message_id) for sms in chunk]
    if len(entries) == len(chunk):
        return [entry_result(entry) for entry in entries]
    return failed_for_all(len(chunk), MISSING_FROM_ANSWER)


def _take(by_ref: dict[str, list[Mapping[str, object]]], ref_id: str) -> SendResult:
    matches = by_ref.get(ref_id)
    if not matches:
        return MISSING_FROM_ANSWER
    return entry_result(matches.pop(0))
