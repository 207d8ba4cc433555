"""Reading provider webhook bodies: small, strict helpers that say what is wrong."""

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from app.core.errors import AppError


class MalformedWebhook(AppError):
    status_code = 400
    slug = "malformed-webhook"
    title = "Malformed webhook body"


class SignatureRejected(AppError):
    status_code = 401
    slug = "bad-signature"
    title = "Signature check failed"


class BodyTooLarge(AppError):
    status_code = 413
    slug = "body-too-large"
    title = "Body too large"


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedWebhook("the body is not JSON (or is nested too deeply)") from exc


def json_object(body: bytes) -> Mapping[str, Any]:
    value = json_body(body)
    if not isinstance(value, Mapping):
        raise MalformedWebhook("the body is not a JSON object")
    return value


def form_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook(
            "the body is not a form (application/x-www-form-urlencoded)"
        ) from exc


_INTEGER = re.compile(r"-?[0-9]{1,9}")
# Codes, part numbers and counts: anything past this is not a provider's value.
LARGEST_INTEGER = 2**31 - 1


# Provider ids, statuses and numbers are short (a Twilio SID is 34 characters, a LINK id
# with its `$n` part suffix fits the 120 of our columns); an SMS text is at most 1,600
# (Twilio's limit, ten concatenated parts for the others).
SHORT_TEXT_LENGTH = 100
PHONE_NUMBER_LENGTH = 32
MESSAGE_TEXT_LENGTH = 1600


def storable_text(value: str, key: str, max_length: int) -> str:
    """Text a database takes: no NUL (PostgreSQL refuses it), no lone surrogate (no
    UTF-8 for it), which JSON escapes can carry, and no longer than its column."""
    if len(value) > max_length:
        raise MalformedWebhook(f"`{key}` is longer than {max_length} characters")
    if "\x00" in value:
        raise MalformedWebhook(f"`{key}` holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedWebhook(f"`{key}` is not valid Unicode text") from exc
    return value


def required_text(data: Mapping[str, Any], key: str, max_length: int = SHORT_TEXT_LENGTH) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MalformedWebhook(f"`{key}` is missing or not a string")
    return storable_text(value.strip(), key, max_length)


def optional_text(
    data: Mapping[str, Any], key: str, max_length: int = SHORT_TEXT_LENGTH
) -> str | None:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return None
    return storable_text(value.strip(), key, max_length) or None


def message_text(data: Mapping[str, Any], key: str) -> str:
    """An SMS text: may be empty, never missing."""
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedWebhook(f"`{key}` is missing or not a string")
    return storable_text(value, key, MESSAGE_TEXT_LENGTH)


def required_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > LARGEST_INTEGER:
        raise MalformedWebhook(f"`{key}` is missing or not an integer")
    return value


def timestamp(data: Mapping[str, Any], key: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 time; an absent or unreadable one is no reason to refuse."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 east of UTC, for one
        return None


def our_message_id(value: str | None) -> uuid.UUID | None:
    """Our id as echoed by the provider; anything else is a message we did not send."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
