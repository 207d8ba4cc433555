"""The one interface every SMS provider adapter implements.

An adapter takes a batch of messages and answers, for each, in the same order: the
provider's id for an accepted message, or a typed failure. The failure kind decides what
the engine does next, so adapters must classify honestly:

- `RETRYABLE`: the provider provably did not take the message (connection refused, 429,
  a rejection before acceptance). The engine may try again later.
- `PERMANENT`: the provider refused the message for good (bad number, bad credentials).
- `UNKNOWN_OUTCOME`: the request may have reached the provider (timeout after sending,
  a 5xx after the body went out, an unreadable answer). Never retried: at most once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class SenderKind(StrEnum):
    NUMBER = "number"
    ALPHANUMERIC = "alphanumeric"


@dataclass(frozen=True, slots=True)
class OutboundSms:
    message_id: (
        str  # ours; sent as the provider's client reference (LINK refId, Sinch client_reference)
    )
    to: str  # E.164
    text: str
    sender: str  # the reply number (E.164) or the sender name
    sender_kind: SenderKind
    expires_at: datetime  # aware UTC; providers get it as a validity period or expiry
    # The last moment a request for it may start: the expiry, or earlier when the clinic's
    # next pause begins first. None means expires_at.
    send_by: datetime | None = None


class FailureKind(StrEnum):
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    UNKNOWN_OUTCOME = "unknown_outcome"


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_message_id: str


@dataclass(frozen=True, slots=True)
class Failed:
    kind: FailureKind
    reason: str  # short, human-readable, safe to show and store (no secrets, no full numbers)
    code: str | None = None  # the provider's own code, when it gave one


SendResult = Accepted | Failed

EXPIRED_CODE = "expired"
PAUSED_CODE = "paused"
OUT_OF_TIME_CODE = "out_of_time"
NOT_TRIED_CODE = "not_tried"
EXPIRED_BEFORE_SENDING = Failed(
    FailureKind.PERMANENT, "expired before it could be sent", EXPIRED_CODE
)
NOT_TRIED = Failed(
    FailureKind.RETRYABLE, "not sent: no provider could be asked this time", NOT_TRIED_CODE
)
PAUSE_BEGAN = Failed(
    FailureKind.RETRYABLE, "the clinic's pause began before it could be sent", PAUSED_CODE
)


def too_late(sms: OutboundSms, now: datetime) -> Failed | None:
    """Why no request for `sms` may start at `now`, if none may: adapters that send one
    request at a time ask before each, as the last ones may start minutes after the first."""
    if now >= sms.expires_at:
        return EXPIRED_BEFORE_SENDING
    if sms.send_by is not None and now >= sms.send_by:
        return PAUSE_BEGAN
    return None


class SmsProvider(Protocol):
    name: str
    max_batch_size: int

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        """Send every message once; answer one result per message, in the same order."""
        ...
