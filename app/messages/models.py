import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from sqlalchemy import ColumnElement, Index, Numeric, literal_column, text
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of, utc_now


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"
    CANCELLED = "cancelled"


STATUS_CODES: dict[MessageStatus, Literal["V", "S", "SB", "F", "A"]] = {
    MessageStatus.PENDING: "V",
    MessageStatus.SENDING: "V",
    MessageStatus.SENT: "S",
    MessageStatus.ANSWERED: "SB",
    MessageStatus.FAILED: "F",
    MessageStatus.CANCELLED: "A",
}


class DeliveryState(StrEnum):
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    UNKNOWN = "unknown"


class DeliveryReason(StrEnum):
    # No report came within the provider's window, and no status lookup settled it.
    NO_REPORT = "no_report"


class FailureReason(StrEnum):
    EXPIRED = "expired"
    PROVIDER_REJECTED = "provider_rejected"
    RETRIES_EXHAUSTED = "retries_exhausted"
    INVALID_NUMBER = "invalid_number"
    # Addressed to a number the patient no longer has: a change raced its making or claim.
    NUMBER_CHANGED = "number_changed"
    # Rendered again (the patient was renamed), the text is over the clinic's max_segments.
    TOO_LONG = "too_long"
    # Rendered again, the text has characters the clinic's provider cannot carry.
    UNSUPPORTED_CHARACTERS = "unsupported_characters"


class RecipientRole(StrEnum):
    PATIENT = "patient"
    GUARDIAN = "guardian"
    NUMBER = "number"


SETTLED = "status <> 'sending'"
"""The rows the list indexes hold: not the messages being handed to a provider right now.
The claim (pending to sending) then writes no entry into them, only the record does (the
two updates cannot be HOT: `status` is in indexes); migration 0029. The list reads the
rows in `sending` from ix_message_sending (`newest_first` in app/messages/listing.py)."""


def _settled_and(condition: str) -> str:
    return f"{condition} AND {SETTLED}"


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        # Only pending rows: claimed and finished rows leave the index, which keeps it small.
        Index(
            "ix_message_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # The sweep expires overdue pending messages by this (migration 0021).
        Index(
            "ix_message_expiry",
            "expires_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_message_sending",
            "claimed_at",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        # Sent messages still waiting for a final report: reconciliation's work list.
        Index(
            "ix_message_awaiting_report",
            "sent_at",
            postgresql_where=text("delivery = 'accepted'"),
            sqlite_where=text("delivery = 'accepted'"),
        ),
        Index(
            "ix_message_clinic_created",
            "clinic_id",
            "created_at",
            "id",
            postgresql_where=text(SETTLED),
            sqlite_where=text(SETTLED),
        ),
        # Without the rows where the column is null, which no query of these asks for: a
        # new message is not sent, and often has no appointment or practitioner (0027).
        Index(
            "ix_message_clinic_sent",
            "clinic_id",
            "sent_at",
            postgresql_where=text("sent_at IS NOT NULL"),
            sqlite_where=text("sent_at IS NOT NULL"),
        ),
        Index(
            "ix_message_clinic_appointment",
            "clinic_id",
            "appointment_id",
            postgresql_where=text("appointment_id IS NOT NULL"),
            sqlite_where=text("appointment_id IS NOT NULL"),
        ),
        Index("ix_message_clinic_patient", "clinic_id", "patient_id"),
        # The list's filters, each in the list's order (migration 0021); the free-text
        # search has its own table and index (MessageSearch).
        Index("ix_message_clinic_number", "clinic_id", "to_number", "created_at", "id"),
        # These four and the created one leave out the rows in `sending` (SETTLED, 0029).
        Index(
            "ix_message_clinic_status",
            "clinic_id",
            "status",
            "created_at",
            "id",
            postgresql_where=text(SETTLED),
            sqlite_where=text(SETTLED),
        ),
        Index(
            "ix_message_clinic_type",
            "clinic_id",
            "type",
            "created_at",
            "id",
            postgresql_where=text(SETTLED),
            sqlite_where=text(SETTLED),
        ),
        Index(
            "ix_message_clinic_patient_no",
            "clinic_id",
            "patient_no",
            "created_at",
            "id",
            postgresql_where=text(SETTLED),
            sqlite_where=text(SETTLED),
        ),
        Index(
            "ix_message_clinic_practitioner",
            "clinic_id",
            "practitioner",
            "created_at",
            "id",
            postgresql_where=text(_settled_and("practitioner IS NOT NULL")),
            sqlite_where=text(_settled_and("practitioner IS NOT NULL")),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    patient_id: uuid.UUID | None = Field(
        default=None, foreign_key="patient.id", ondelete="SET NULL"
    )
    patient_no: str | None = Field(default=None, max_length=50)
    patient_name: str | None = Field(default=None, max_length=250)
    recipient_role: str = Field(max_length=10)
    recipient_name: str | None = Field(default=None, max_length=250)
    to_number: str | None = Field(default=None, max_length=16)
    type: str = Field(max_length=30)
    appointment_id: str | None = Field(default=None, max_length=100)
    # The appointment's start when the message was made: a reply to a reminder for a time
    # that has since moved confirms nothing.
    appointment_start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    practitioner: str | None = Field(default=None, max_length=100)
    allow_reply: bool = False
    text: str | None = None
    # The template and merge values (JSON) the text was made from, kept where it holds the
    # patient's name: a renamed patient's pending texts are rendered again from it.
    text_source: str | None = None
    encoding: str = Field(max_length=5)
    segments: int
    cost: Decimal = Field(sa_type=Numeric(12, 4))
    currency: str = Field(max_length=3)
    status: str = Field(default=MessageStatus.PENDING, max_length=10)
    failure_reason: str | None = Field(default=None, max_length=30)
    failure_detail: str | None = Field(default=None, max_length=300)
    delivery: str | None = Field(default=None, max_length=12)
    # Why the delivery is what it is when no report said so (`no_report`).
    delivery_reason: str | None = Field(default=None, max_length=20)
    # When reconciliation last asked the provider for this message's status.
    report_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    send_kind: str = Field(max_length=10)
    send_after: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)
    provider: str | None = Field(default=None, max_length=20)
    # Not indexed: every provider echoes our id (LINK refId, Sinch client_reference, and the
    # Twilio callback URL), so reports never look messages up by the provider's id.
    provider_message_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


message_table = table_of(Message)
# As written in the indexes' predicates: SQLite uses a partial index only for a query that
# has its very term, a literal rather than a bound parameter.
_SENDING: ColumnElement[str] = literal_column(f"'{MessageStatus.SENDING.value}'")
NOT_SENDING: ColumnElement[bool] = message_table.c.status != _SENDING
IS_SENDING: ColumnElement[bool] = message_table.c.status == _SENDING


class MessageSearch(SQLModel, table=True):
    """What the free-text search of `GET /v1/messages` looks in: one row a message, its
    names and text case folded (`searched()` in app/messages/listing.py). Database
    triggers keep it: on a message's insert, and on an update of its text or names only
    (migration 0026), so the trigram index here (PostgreSQL) is not written again by the
    status updates of sending; and on its delete, the copy goes (0030, also for the
    messages a clinic's deletion cascades to). No foreign key: its check locked each new
    message as its copy went in, and only those triggers write here. A migration that
    rebuilds `message` on SQLite (a batch alter) drops those triggers and must make them
    again."""

    __tablename__ = "message_search"

    message_id: uuid.UUID = Field(primary_key=True)
    clinic_id: uuid.UUID
    document: str


message_search_table = table_of(MessageSearch)
