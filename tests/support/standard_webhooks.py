"""Checking our event signatures with the official Standard Webhooks library."""

from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks import Webhook


def signed_with(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether one of the delivery's signatures is the one the library computes with
    `secret`. Its `verify` also wants the timestamp within 5 minutes of the real clock,
    which a test on a fixed clock is not; tests/events/test_signing.py runs `verify`
    itself on deliveries made at the real time."""
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], sent_at, body.decode())
    return expected in headers["webhook-signature"].split(" ")
