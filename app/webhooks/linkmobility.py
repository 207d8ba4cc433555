"""LINK Mobility webhooks: delivery reports (MT/DLR v1.18) and inbound MO (v1.7).

A gate posts JSON, XML or form data, whichever its destination is set up with; all three
are read (`app.webhooks.formats`). A long message may come back as one report per part,
with `id` = `{messageId}${n}` (n from 0); `refId` is our message id. A reply to a short
number comes with `destination` like `NO-2333` and, routed by keyword, with the keyword
still in the text: `route.keyword` says which.
"""

from collections.abc import Mapping
from typing import Any

from app.deliveries.reports import ParsedReport
from app.messages.models import DeliveryState
from app.replies.service import InboundSms
from app.webhooks.formats import decoded_body
from app.webhooks.parsing import (
    LARGEST_INTEGER,
    PHONE_NUMBER_LENGTH,
    MalformedWebhook,
    message_text,
    optional_text,
    our_message_id,
    required_int,
    required_text,
    timestamp,
)

ACCEPTED = DeliveryState.ACCEPTED
DELIVERED = DeliveryState.DELIVERED
UNDELIVERED = DeliveryState.UNDELIVERED
UNKNOWN = DeliveryState.UNKNOWN

# Every documented resultCode (LINK-MT pp. 24-26). TEMP codes are `accepted` except 1007,
# which LINK flags delivered (billing follows); FINAL codes without delivery are
# `undelivered`, and the two "delivery unknown" ones (and a timeout) are `unknown`.
RESULT_CODES: Mapping[int, tuple[DeliveryState, str]] = {
    0: (UNDELIVERED, "unknown error"),
    1: (UNDELIVERED, "temporary routing error"),
    2: (UNDELIVERED, "permanent routing error"),
    3: (UNDELIVERED, "maximum throttling exceeded"),
    4: (UNKNOWN, "timeout"),
    5: (UNKNOWN, "operator unknown error"),
    6: (UNDELIVERED, "operator error"),
    104: (UNDELIVERED, "configuration error"),
    105: (UNDELIVERED, "internal LINK error"),
    1000: (ACCEPTED, "sent to operator"),
    1001: (DELIVERED, "billed and delivered"),
    1002: (UNDELIVERED, "expired"),
    1003: (UNDELIVERED, "deleted"),
    1004: (UNDELIVERED, "mobile full"),
    1005: (ACCEPTED, "queued"),
    1006: (UNDELIVERED, "not delivered"),
    1007: (DELIVERED, "delivered, billing delayed"),
    1008: (ACCEPTED, "billed before sending"),
    1009: (UNDELIVERED, "billed but not delivered"),
    1010: (UNKNOWN, "expired without an operator delivery report"),
    1011: (ACCEPTED, "billed and sent to operator"),
    1012: (ACCEPTED, "delayed by a temporary billing error; LINK retries"),
    1013: (ACCEPTED, "billing in progress"),
    2000: (UNDELIVERED, "invalid source"),
    2001: (UNDELIVERED, "short-number source not supported"),
    2002: (UNDELIVERED, "alphanumeric source not supported"),
    2003: (UNDELIVERED, "MSISDN source not supported"),
    2100: (UNDELIVERED, "short-number destination not supported"),
    2101: (UNDELIVERED, "alphanumeric destination not supported"),
    2102: (UNDELIVERED, "MSISDN destination not supported"),
    2103: (UNDELIVERED, "operation blocked"),
    2104: (UNDELIVERED, "unknown subscriber"),
    2105: (UNDELIVERED, "subscriber permanently barred"),
    2106: (UNDELIVERED, "number error"),
    2107: (UNDELIVERED, "subscriber temporarily barred"),
    2200: (UNDELIVERED, "charging error"),
    2201: (UNDELIVERED, "subscriber balance too low"),
    2202: (UNDELIVERED, "subscriber barred from overcharged messages"),
    2203: (UNDELIVERED, "subscriber too young"),
    2204: (UNDELIVERED, "prepaid subscriber not allowed"),
    2205: (UNDELIVERED, "service rejected by subscriber"),
    2206: (UNDELIVERED, "subscriber not registered in the payment system"),
    2207: (UNDELIVERED, "subscriber at maximum balance"),
    3000: (UNDELIVERED, "GSM encoding not supported"),
    3001: (UNDELIVERED, "UCS2 encoding not supported"),
    3002: (UNDELIVERED, "binary encoding not supported"),
    4000: (UNDELIVERED, "delivery report not supported"),
    4001: (UNDELIVERED, "invalid message content"),
    4002: (UNDELIVERED, "invalid tariff"),
    4003: (UNDELIVERED, "invalid user data"),
    4004: (UNDELIVERED, "invalid user data header"),
    4005: (UNDELIVERED, "invalid data coding"),
    4006: (UNDELIVERED, "invalid VAT"),
    4007: (UNDELIVERED, "content not supported by the destination"),
}
# An undocumented code says nothing final: recorded, changes nothing.
UNLISTED_CODE = (ACCEPTED, "undocumented result code")


def _part(report_id: str) -> int | None:
    _, separator, suffix = report_id.rpartition("$")
    if not separator or not suffix.isascii() or not suffix.isdigit():
        return None
    part = int(suffix)
    return part if part <= LARGEST_INTEGER else None


def _report(data: Mapping[str, Any]) -> ParsedReport:
    report_id = required_text(data, "id")
    code = required_int(data, "resultCode")
    state, meaning = RESULT_CODES.get(code, UNLISTED_CODE)
    return ParsedReport(
        external_id=report_id,
        status_code=str(code),
        message_id=our_message_id(optional_text(data, "refId")),
        state=state,
        detail=f"LINK Mobility: {meaning} (result code {code})",
        part=_part(report_id),
        occurred_at=timestamp(data, "timestamp"),
    )


def _report_items(value: Any) -> list[Any]:
    """One report per request as documented; several (a JSON array, or an XML root
    wrapping report elements) are taken too."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and len(value) == 1 and "id" not in value:
        (inner,) = value.values()
        if isinstance(inner, Mapping):
            return [inner]
        if isinstance(inner, list):
            return inner
    return [value]


def parse_delivery(body: bytes, content_type: str | None = None) -> list[ParsedReport]:
    items = _report_items(decoded_body(body, content_type))
    if not items or not all(isinstance(item, Mapping) for item in items):
        raise MalformedWebhook("expected a delivery report object (or a list of them)")
    return [_report(item) for item in items]


def _routing_keyword(data: Mapping[str, Any]) -> str | None:
    route = data.get("route")
    return optional_text(route, "keyword") if isinstance(route, Mapping) else None


def parse_inbound(body: bytes, content_type: str | None = None) -> InboundSms:
    data = decoded_body(body, content_type)
    if not isinstance(data, Mapping):
        raise MalformedWebhook("expected an inbound message object")
    content = data.get("content")
    if not isinstance(content, Mapping):
        raise MalformedWebhook("`content` is missing or not an object")
    return InboundSms(
        provider_message_id=required_text(data, "messageId"),
        sender=required_text(data, "source", PHONE_NUMBER_LENGTH),
        recipient=optional_text(data, "destination", PHONE_NUMBER_LENGTH),
        text=message_text(content, "userData"),
        routing_keyword=_routing_keyword(data),
    )
