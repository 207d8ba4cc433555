"""Twilio webhooks: status callbacks and inbound SMS, form posts signed with
`X-Twilio-Signature`: an HMAC of the URL and the sorted form fields, keyed with the
account's auth token (HMAC-SHA1), or, where a Webhook Rule applies a SharedKey, with that
key and the algorithm `X-Twilio-Webhooks-Signature-Settings` names (HMAC-SHA256). Our
adapter adds `?message_id=<ours>` to each StatusCallback URL.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.deliveries.reports import ParsedReport
from app.messages.models import DeliveryState
from app.replies.service import InboundSms
from app.webhooks.parsing import (
    MESSAGE_TEXT_LENGTH,
    PHONE_NUMBER_LENGTH,
    SHORT_TEXT_LENGTH,
    MalformedWebhook,
    form_fields,
    our_message_id,
    storable_text,
)

MESSAGE_ID_PARAMETER = "message_id"
SIGNATURE_HEADER = "x-twilio-signature"
SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
IDEMPOTENCY_HEADER = "i-twilio-idempotency-token"
HMAC_SHA1 = "HMAC_SHA1"
HMAC_SHA256 = "HMAC_SHA256"
ALGORITHMS: Mapping[str, Callable[..., Any]] = {
    HMAC_SHA1: hashlib.sha1,
    HMAC_SHA256: hashlib.sha256,
}
# RawDlrDoneDate: the carrier's done date, YYMMDDhhmm.
_DONE_DATE_FORMAT = "%y%m%d%H%M"

# MessageEnumStatus. No callback comes for the first status; `receiving`/`received` are
# inbound and `read` is WhatsApp's (it implies delivered).
STATUSES: Mapping[str, DeliveryState] = {
    "accepted": DeliveryState.ACCEPTED,
    "scheduled": DeliveryState.ACCEPTED,
    "queued": DeliveryState.ACCEPTED,
    "sending": DeliveryState.ACCEPTED,
    "sent": DeliveryState.ACCEPTED,
    "receiving": DeliveryState.ACCEPTED,
    "received": DeliveryState.ACCEPTED,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.UNDELIVERED,
    "failed": DeliveryState.UNDELIVERED,
    "canceled": DeliveryState.UNDELIVERED,
    "partially_delivered": DeliveryState.UNKNOWN,
}

# The delivery errors a status callback carries in `ErrorCode` (Twilio error dictionary).
ERROR_CODES: Mapping[str, str] = {
    "30001": "queue overflow",
    "30002": "account suspended",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "message filtered by the carrier",
    "30008": "unknown error",
    "30009": "missing inbound segment",
    "30010": "message price exceeds max price",
    "30034": "sender not registered (US A2P 10DLC)",
    "30036": "validity period expired",
}


# A status with its error code (`undelivered/30003`) is a report's 40-character status code.
_STATUS_LENGTH = 24
_ERROR_CODE_LENGTH = 10


def _first(
    fields: Iterable[tuple[str, str]], *names: str, max_length: int = SHORT_TEXT_LENGTH
) -> str | None:
    values = dict(fields)
    for name in names:
        if value := values.get(name, "").strip():
            return storable_text(value, name, max_length)
    return None


def _detail(status: str, error_code: str | None) -> str:
    if not error_code:
        return f"Twilio: {status}"
    meaning = ERROR_CODES.get(error_code, "error")
    return f"Twilio: {status} - {meaning} (error {error_code})"


def parse_delivery(body: bytes, query: Mapping[str, str]) -> list[ParsedReport]:
    fields = form_fields(body)
    sid = _first(fields, "MessageSid", "SmsSid")
    status = _first(fields, "MessageStatus", "SmsStatus", max_length=_STATUS_LENGTH)
    if sid is None or status is None:
        raise MalformedWebhook("`MessageSid` and `MessageStatus` are required")
    error_code = _first(fields, "ErrorCode", max_length=_ERROR_CODE_LENGTH)
    return [
        ParsedReport(
            external_id=sid,
            status_code=f"{status}/{error_code or ''}",
            message_id=our_message_id(query.get(MESSAGE_ID_PARAMETER)),
            state=STATUSES.get(status.lower(), DeliveryState.ACCEPTED),
            detail=_detail(status, error_code),
            occurred_at=done_date(_first(fields, "RawDlrDoneDate")),
        )
    ]


def done_date(value: str | None) -> datetime | None:
    """`RawDlrDoneDate` (YYMMDDhhmm), the carrier's delivery time, on most delivered and
    undelivered callbacks. Twilio passes it through without a zone ("the offset varies
    between carriers"): read as UTC, and never later than the callback's arrival (the
    intake caps it). Unreadable: None, and the arrival time is used."""
    if value is None or len(value) != len("YYMMDDhhmm") or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, _DONE_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_inbound(body: bytes) -> InboundSms:
    fields = form_fields(body)
    sid = _first(fields, "MessageSid", "SmsSid")
    sender = _first(fields, "From", max_length=PHONE_NUMBER_LENGTH)
    if sid is None or sender is None:
        raise MalformedWebhook("`MessageSid` and `From` are required")
    return InboundSms(
        provider_message_id=sid,
        sender=sender,
        recipient=_first(fields, "To", max_length=PHONE_NUMBER_LENGTH),
        text=storable_text(dict(fields).get("Body", ""), "Body", MESSAGE_TEXT_LENGTH),
    )


def signature(
    url: str, fields: Iterable[tuple[str, str]], key: str, algorithm: str = HMAC_SHA1
) -> str:
    """As twilio-python's RequestValidator: the URL, then each name and value, sorted."""
    grouped: dict[str, set[str]] = {}
    for name, value in fields:
        grouped.setdefault(name, set()).add(value)
    data = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(key.encode(), data.encode(), ALGORITHMS[algorithm]).digest()
    return base64.b64encode(digest).decode()


def signing_algorithm(settings_header: str | None) -> str:
    """The algorithm `X-Twilio-Webhooks-Signature-Settings` names (`key=…,algorithm=…`);
    HMAC_SHA1 (the auth token's) when it names none."""
    for part in (settings_header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return HMAC_SHA1


def _port_variants(url: str) -> list[str]:
    """Twilio may sign with or without the default port; both are tried."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    without = urlunsplit(parts._replace(netloc=host))
    if parts.port not in (None, default):
        return [url]
    return [url, with_port if parts.port is None else without]


def signature_is_valid(
    url: str,
    fields: Iterable[tuple[str, str]],
    key: str,
    header: str | None,
    algorithm: str = HMAC_SHA1,
) -> bool:
    if not header or algorithm not in ALGORITHMS:
        return False
    fields = list(fields)
    expected = header.encode()  # bytes: compare_digest refuses non-ASCII text
    return any(
        hmac.compare_digest(signature(candidate, fields, key, algorithm).encode(), expected)
        for candidate in _port_variants(url)
    )
