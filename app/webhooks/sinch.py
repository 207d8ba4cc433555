"""Sinch webhooks (xms v1): delivery reports and inbound `mo_text`, JSON.

We ask for `per_recipient` reports and send one recipient per batch, so `client_reference`
(our message id) names the message; `batch_id` is the report's external id.

Callbacks may be signed (HMAC, set up for the service plan): `x-sinch-webhook-signature`
is base64(HMAC-SHA256(callback secret, `{raw body}.{nonce}.{timestamp}`)), with the nonce,
timestamp and algorithm in `x-sinch-webhook-signature-nonce|-timestamp|-algorithm`, as the
official SDKs validate it.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from app.core.phones import short_code
from app.deliveries.reports import ParsedReport
from app.messages.models import DeliveryState
from app.replies.service import InboundSms
from app.webhooks.parsing import (
    PHONE_NUMBER_LENGTH,
    MalformedWebhook,
    json_object,
    message_text,
    optional_text,
    our_message_id,
    required_int,
    required_text,
    timestamp,
)

SIGNATURE_HEADER = "x-sinch-webhook-signature"
NONCE_HEADER = "x-sinch-webhook-signature-nonce"
TIMESTAMP_HEADER = "x-sinch-webhook-signature-timestamp"
ALGORITHM_HEADER = "x-sinch-webhook-signature-algorithm"
HMAC_SHA256 = "HmacSHA256"

# A status with its code (`Delivered/0`) is a report's 40-character status code.
STATUS_LENGTH = 24

# Sinch "Delivery report statuses": Queued and Dispatched are on the way; the rest final.
STATUSES: Mapping[str, DeliveryState] = {
    "queued": DeliveryState.ACCEPTED,
    "dispatched": DeliveryState.ACCEPTED,
    "delivered": DeliveryState.DELIVERED,
    "aborted": DeliveryState.UNDELIVERED,
    "cancelled": DeliveryState.UNDELIVERED,
    "rejected": DeliveryState.UNDELIVERED,
    "deleted": DeliveryState.UNDELIVERED,
    "failed": DeliveryState.UNDELIVERED,
    "expired": DeliveryState.UNDELIVERED,
    "unknown": DeliveryState.UNKNOWN,
}

# Sinch's own codes (DeliveryReportErrorCode); other codes are SMPP's, 0 is success.
CODES: Mapping[int, str] = {
    0: "delivered",
    400: "queued",
    401: "dispatched",
    402: "message unroutable",
    403: "internal error",
    404: "temporary delivery failure",
    405: "unmatched parameter",
    406: "internal expiry",
    407: "cancelled",
    408: "internal reject",
    410: "unmatched default originator",
    411: "exceeded parts limit",
    412: "unprovisioned region",
    413: "account blocked",
    414: "MMS: bad media",
    415: "MMS: delivery report rejected",
    416: "MMS: not provisioned",
    417: "MMS: not supported",
    418: "MMS: no recipient",
}


def _state(status: str) -> DeliveryState:
    # A status Sinch adds later says nothing final: recorded, changes nothing.
    return STATUSES.get(status.lower(), DeliveryState.ACCEPTED)


def _detail(status: str, code: int) -> str:
    meaning = CODES.get(code, "operator (SMPP) code")
    return f"Sinch: {status} - {meaning} (code {code})"


def _recipient_report(data: Mapping[str, Any]) -> ParsedReport:
    status = required_text(data, "status", STATUS_LENGTH)
    code = required_int(data, "code")
    return ParsedReport(
        external_id=required_text(data, "batch_id"),
        status_code=f"{status}/{code}",
        message_id=our_message_id(optional_text(data, "client_reference")),
        state=_state(status),
        detail=_detail(status, code),
        occurred_at=timestamp(data, "at"),
    )


def _summary_reports(data: Mapping[str, Any]) -> list[ParsedReport]:
    batch_id = required_text(data, "batch_id")
    message_id = our_message_id(optional_text(data, "client_reference"))
    statuses = data.get("statuses")
    if not isinstance(statuses, list) or not all(isinstance(s, Mapping) for s in statuses):
        raise MalformedWebhook("`statuses` is missing or not a list of objects")
    reports = []
    for entry in statuses:
        status, code = required_text(entry, "status", STATUS_LENGTH), required_int(entry, "code")
        reports.append(
            ParsedReport(
                external_id=batch_id,
                status_code=f"{status}/{code}",
                message_id=message_id,
                state=_state(status),
                detail=_detail(status, code),
            )
        )
    return reports


def parse_delivery(body: bytes) -> list[ParsedReport]:
    data = json_object(body)
    kind = data.get("type")
    if kind == "recipient_delivery_report_sms":
        return [_recipient_report(data)]
    if kind == "delivery_report_sms":
        return _summary_reports(data)
    raise MalformedWebhook(f"`type` {kind!r} is not an SMS delivery report")


def _international(number: str) -> str:
    """Sinch gives MSISDNs without their `+` (`4791234567`); a short code stays as it is."""
    return f"+{number}" if number.isdigit() and short_code(number) is None else number


def parse_inbound(body: bytes) -> InboundSms | None:
    """A `mo_text`; other kinds (binary, MMS) carry no text and are acknowledged only."""
    data = json_object(body)
    kind = required_text(data, "type")
    if kind != "mo_text":
        return None
    recipient = optional_text(data, "to", PHONE_NUMBER_LENGTH)
    return InboundSms(
        provider_message_id=required_text(data, "id"),
        sender=_international(required_text(data, "from", PHONE_NUMBER_LENGTH)),
        recipient=_international(recipient) if recipient else None,
        text=message_text(data, "body"),
    )


def signature(body: bytes, nonce: str, timestamp: str, secret: str) -> str:
    signed = body + f".{nonce}.{timestamp}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """The signature headers are all there and match; an algorithm other than
    HMAC-SHA256, when one is named, is refused."""
    given = headers.get(SIGNATURE_HEADER)
    nonce = headers.get(NONCE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    algorithm = headers.get(ALGORITHM_HEADER, HMAC_SHA256)
    if not given or not nonce or not timestamp or algorithm.lower() != HMAC_SHA256.lower():
        return False
    expected = signature(body, nonce, timestamp, secret)
    return hmac.compare_digest(expected.encode(), given.encode())
