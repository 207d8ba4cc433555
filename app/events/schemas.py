import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.events.models import (
    DeliveryStatus,
    EventDelivery,
    EventDeliveryAttempt,
    EventSubscription,
    EventType,
)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _check_url(value: str) -> str:
    """HTTPS anywhere; plain HTTP only to this machine (for development and tests), as
    event bodies hold patients' replies."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("an absolute http(s) URL")
    if parts.username or parts.password:
        raise ValueError("no credentials in the URL; verify our signature instead")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ValueError("https is required, except for localhost, 127.0.0.1 and ::1")
    if parts.fragment:
        raise ValueError("no #fragment")
    try:
        parts.port  # noqa: B018 -- raises for a port that is not 0-65535
        parts.hostname.encode("idna")
    except (ValueError, UnicodeError) as exc:
        raise ValueError("the host or port is not valid") from exc
    return value


SubscriptionUrl = Annotated[str, Field(max_length=2000), AfterValidator(_check_url)]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://journal.tannlegeberg.no/sms-events",
                    "event_types": ["message.status_changed", "reply.received"],
                    "description": "Journalsystemet",
                }
            ]
        },
    )

    url: SubscriptionUrl = Field(
        description="Where events are POSTed: https, or http to localhost/127.0.0.1/::1 only. "
        "In production the host must be public: no loopback, private or link-local address, "
        "checked here and again before each POST"
    )
    event_types: list[EventType] = Field(min_length=1, description="Which events to send")
    description: str | None = Field(default=None, max_length=200)


class SubscriptionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1d4-5e6f-7a80-b1c2-d3e4f5a6b7c8",
                    "url": "https://journal.tannlegeberg.no/sms-events",
                    "event_types": ["message.status_changed", "reply.received"],
                    "description": "Journalsystemet",
                    "created_at": "2026-12-01T13:10:00Z",
                    "active": True,
                    "disabled_at": None,
                    "disabled_reason": None,
                    "consecutive_failures": 0,
                    "previous_secret_expires_at": None,
                }
            ]
        }
    )

    id: uuid.UUID
    url: str
    event_types: list[EventType]
    description: str | None
    created_at: datetime
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="Why we stopped sending: too many failed events in a row, or a day of "
        "failures. Delete and re-create the subscription to start again."
    )
    consecutive_failures: int = Field(description="Events given up on since the last success")
    previous_secret_expires_at: datetime | None = Field(
        description="After `rotate-secret`: until this time every delivery also carries a "
        "signature made with the secret it replaced. Null if the secret was never rotated."
    )

    @classmethod
    def of(cls, subscription: EventSubscription) -> "SubscriptionPublic":
        return cls(
            id=subscription.id,
            url=subscription.url,
            event_types=[EventType(value) for value in subscription.event_types],
            description=subscription.description,
            created_at=subscription.created_at,
            active=subscription.disabled_at is None,
            disabled_at=subscription.disabled_at,
            disabled_reason=subscription.disabled_reason,
            consecutive_failures=subscription.consecutive_failures,
            previous_secret_expires_at=subscription.previous_secret_expires_at,
        )


SECRET_DESCRIPTION = (
    "Signs every delivery (the `webhook-signature` header, Standard Webhooks): "
    "`whsec_` and the base64 of 32 random bytes, the HMAC-SHA256 key once decoded. "
    "Give it unchanged to a Standard Webhooks library. Shown once; keep it safe."
)


class SubscriptionCreated(SubscriptionPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1d4-5e6f-7a80-b1c2-d3e4f5a6b7c8",
                    "url": "https://journal.tannlegeberg.no/sms-events",
                    "event_types": ["message.status_changed", "reply.received"],
                    "description": "Journalsystemet",
                    "created_at": "2026-12-01T13:10:00Z",
                    "active": True,
                    "disabled_at": None,
                    "disabled_reason": None,
                    "consecutive_failures": 0,
                    "previous_secret_expires_at": None,
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwx0uEPl2BRKo=",
                }
            ]
        }
    )

    secret: str = Field(description=SECRET_DESCRIPTION)


class SecretRotated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": "whsec_3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                    "previous_secret_expires_at": "2026-12-02T13:10:00Z",
                }
            ]
        }
    )

    secret: str = Field(description=SECRET_DESCRIPTION)
    previous_secret_expires_at: datetime = Field(
        description="Until then deliveries are signed with the new secret and the old one, "
        "so the practice system can switch without losing an event"
    )


class SubscriptionList(BaseModel):
    data: list[SubscriptionPublic]


class AttemptPublic(BaseModel):
    attempt: int
    attempted_at: datetime
    status_code: int | None = Field(description="The practice system's HTTP status; null = none")
    error: str | None
    duration_ms: int
    succeeded: bool

    @classmethod
    def of(cls, attempt: EventDeliveryAttempt) -> "AttemptPublic":
        return cls.model_validate(attempt, from_attributes=True)


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1c2-7e50-7d1a-9c3b-5e8f2a6b4c11",
                    "event_id": "0193a1c2-7e4f-7d1a-9c3b-5e8f2a6b4c10",
                    "event_type": "reply.received",
                    "subscription_id": "0193a1d4-5e6f-7a80-b1c2-d3e4f5a6b7c8",
                    "created_at": "2026-12-02T08:14:31Z",
                    "status": "delivered",
                    "attempts": [
                        {
                            "attempt": 1,
                            "attempted_at": "2026-12-02T08:14:32Z",
                            "status_code": 200,
                            "error": None,
                            "duration_ms": 84,
                            "succeeded": True,
                        }
                    ],
                    "next_attempt_at": None,
                    "delivered_at": "2026-12-02T08:14:32Z",
                    "failed_at": None,
                    "last_error": None,
                    "data": {
                        "reply_id": "0193a1c2-8a10-7b22-8d4e-1f2a3b4c5d6e",
                        "received_at": "2026-12-02T08:14:31Z",
                        "from": "+4791234567",
                        "to": "+4790012345",
                        "text": "JA",
                        "patient_no": "10234",
                        "message_id": "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                        "keyword": "confirm",
                    },
                }
            ]
        }
    )

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: EventType
    subscription_id: uuid.UUID
    created_at: datetime
    status: DeliveryStatus
    attempts: list[AttemptPublic]
    next_attempt_at: datetime | None = Field(description="While pending: the next try")
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    data: dict[str, Any] = Field(description="The event's `data` as posted")

    @classmethod
    def of(cls, delivery: EventDelivery, attempts: list[EventDeliveryAttempt]) -> "DeliveryPublic":
        pending = delivery.status == DeliveryStatus.PENDING
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            event_type=EventType(delivery.event_type),
            subscription_id=delivery.subscription_id,
            created_at=delivery.created_at,
            status=DeliveryStatus(delivery.status),
            attempts=[AttemptPublic.of(attempt) for attempt in attempts],
            next_attempt_at=delivery.next_attempt_at if pending else None,
            delivered_at=delivery.delivered_at,
            failed_at=delivery.failed_at,
            last_error=delivery.last_error,
            data=delivery.data,
        )


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
    next_cursor: str | None
