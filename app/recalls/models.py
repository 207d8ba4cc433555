import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of, utc_now


class RecallOutcome(StrEnum):
    """How a recall ended before its attempts ran out; null while it may still go."""

    BOOKED = "booked"
    SKIPPED = "skipped"


class Recall(SQLModel, table=True):
    """A patient's recall: the due date the practice system set, and how far it has got.

    One row per patient. A new due date starts over; attempts are the recall messages made
    for this due date, `message_id` the latest of them."""

    __tablename__ = "recall"
    __table_args__ = (
        UniqueConstraint("patient_id"),
        Index("ix_recall_clinic_due", "clinic_id", "due_date", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    patient_id: uuid.UUID = Field(foreign_key="patient.id", ondelete="CASCADE")
    due_date: date
    attempts: int = 0
    # When the latest attempt was to go: the next one counts its days from there.
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: uuid.UUID | None = Field(
        default=None, foreign_key="message.id", ondelete="SET NULL"
    )
    outcome: str | None = Field(default=None, max_length=10)
    skip_reason: str | None = Field(default=None, max_length=30)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


recall_table = table_of(Recall)
