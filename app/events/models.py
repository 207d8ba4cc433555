import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of
from app.core.secrets import SealedText


class EventType(StrEnum):
    MESSAGE_STATUS_CHANGED = "message.status_changed"
    REPLY_RECEIVED = "reply.received"
    PATIENT_OPTED_OUT = "patient.opted_out"
    PATIENT_OPTED_IN = "patient.opted_in"
    APPOINTMENT_CONFIRMED = "appointment.confirmed"
    APPOINTMENT_CANCELLATION_REQUESTED = "appointment.cancellation_requested"
    CAP_REACHED = "cap.reached"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class EventSubscription(SQLModel, table=True):
    """Where a clinic's practice system wants to be told about events."""

    __tablename__ = "event_subscription"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_type=JSON)
    # Sealed at rest; opened to sign every delivery.
    secret: str = Field(sa_type=SealedText)
    # After a rotation, deliveries are signed with this one too until it expires.
    previous_secret: str | None = Field(default=None, sa_type=SealedText)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    description: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    consecutive_failures: int = 0
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=300)


class EventDelivery(SQLModel, table=True):
    """The outbox: one row per event and subscription, retried until delivered or given up."""

    __tablename__ = "event_delivery"
    __table_args__ = (
        Index(
            "ix_event_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_event_delivery_clinic_created", "clinic_id", "created_at", "id"),
        Index("ix_event_delivery_clinic_patient", "clinic_id", "patient_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    subscription_id: uuid.UUID = Field(
        foreign_key="event_subscription.id", ondelete="CASCADE", index=True
    )
    # The same for every subscription told about one event: the `Webhook-Id`.
    event_id: uuid.UUID
    event_type: str = Field(max_length=40)
    data: dict[str, Any] = Field(sa_type=JSON)
    # Whose personal data `data` may hold, so erasure can find it.
    patient_id: uuid.UUID | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EventDeliveryAttempt(SQLModel, table=True):
    """One POST to the practice system, whatever came of it."""

    __tablename__ = "event_delivery_attempt"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="event_delivery.id", ondelete="CASCADE", index=True)
    attempt: int
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int
    succeeded: bool


event_subscription_table = table_of(EventSubscription)
event_delivery_table = table_of(EventDelivery)
event_attempt_table = table_of(EventDeliveryAttempt)
