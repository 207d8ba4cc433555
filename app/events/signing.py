"""How event deliveries are signed: the Standard Webhooks scheme (standardwebhooks.com),
so any of its libraries verifies them, e.g. `standardwebhooks.Webhook(secret).verify(body,
headers)` in Python.

    webhook-id:        the event's id (the same on every retry; deduplicate on it)
    webhook-timestamp: Unix seconds when this attempt was made
    webhook-signature: v1,<base64 HMAC-SHA256 of f"{id}.{timestamp}.{body}">

The HMAC key is the secret's base64 part, decoded: `whsec_<base64 of 32 random bytes>`.
`POST /v1/event-subscriptions/{id}/rotate-secret` issues a new secret and keeps the one it
replaces valid for 24 hours; meanwhile the header carries one signature per secret,
space-separated, the current one first, and a receiver accepts a delivery when any of
them matches a secret it holds. Reject a timestamp more than a few minutes old to stop
replays (the libraries do).
"""

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_secrets(
    secret: str, previous: str | None, previous_expires_at: datetime | None, *, now: datetime
) -> tuple[str, ...]:
    """The current secret, and the one a rotation replaced while it is still valid."""
    if previous is None or previous_expires_at is None or previous_expires_at <= now:
        return (secret,)
    return secret, previous


def signing_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    # URL-safe decoding takes standard base64 as well: secrets issued before we followed
    # the standard are URL-safe base64 (43 characters, unpadded), which Standard Webhooks
    # libraries do not all accept; such a subscription rotates its secret to move on.
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def signature(secret: str, event_id: uuid.UUID, timestamp: int, body: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def event_body(
    event_id: uuid.UUID, event_type: str, created_at: datetime, data: dict[str, Any]
) -> bytes:
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(
    valid_secrets: Sequence[str], event_id: uuid.UUID, timestamp: int, body: bytes
) -> dict[str, str]:
    """`valid_secrets`: as `signing_secrets` gives them."""
    return {
        "content-type": "application/json",
        "webhook-id": str(event_id),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, event_id, timestamp, body) for secret in valid_secrets
        ),
    }
