"""Twilio webhooks: status callbacks and inbound SMS, form posts signed with
`X-Twilio-Signature` (HMAC-SHA1 of the URL and the sorted form fields, keyed with the
account's auth token). Our adapter adds `?message_id=<ours>` to each StatusCallback URL.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
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
        )
    ]


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


def signature(url: str, fields: Iterable[tuple[str, str]], auth_token: str) -> str:
    """As twilio-python's RequestValidator: the URL, then each name and value, sorted."""
    grouped: dict[str, set[str]] = {}
    for name, value in fields:
        grouped.setdefault(name, set()).add(value)
    data = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


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
    url: str, fields: Iterable[tuple[str, str]], auth_token: str, header: str | None
) -> bool:
    if not header:
        return False
    fields = list(fields)
    expected = header.encode()  # bytes: compare_digest refuses non-ASCII text
    return any(
        hmac.compare_digest(signature(candidate, fields, auth_token).encode(), expected)
        for candidate in _port_variants(url)
    )
