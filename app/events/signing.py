"""How event deliveries are signed; the practice system checks the same way.

    Webhook-Id:        the event's id (the same on every retry; deduplicate on it)
    Webhook-Timestamp: Unix seconds when this attempt was made
    Webhook-Signature: v1=<hex HMAC-SHA256 of f"{timestamp}.{body}" keyed with the secret>

Reject a timestamp more than a few minutes old to stop replays.
"""

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

SIGNATURE_VERSION = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


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


def signed_headers(secret: str, event_id: uuid.UUID, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Webhook-Id": str(event_id),
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, timestamp, body),
    }
