import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of


class Reply(SQLModel, table=True):
    """An inbound SMS. Every one is kept, matched to a patient and message or not."""

    __tablename__ = "reply"
    __table_args__ = (
        UniqueConstraint("clinic_id", "provider", "provider_message_id"),
        Index("ix_reply_clinic_received", "clinic_id", "received_at", "id"),
        Index("ix_reply_clinic_from", "clinic_id", "from_number"),
        Index("ix_reply_clinic_patient", "clinic_id", "patient_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    provider: str = Field(max_length=20)
    provider_message_id: str = Field(max_length=120)
    # E.164 when it parses as a phone number; else as the provider gave it (a short code).
    from_number: str | None = Field(default=None, max_length=32)
    to_number: str | None = Field(default=None, max_length=32)
    text: str | None = None
    received_at: datetime = Field(sa_type=UTCDateTime)
    patient_id: uuid.UUID | None = Field(
        default=None, foreign_key="patient.id", ondelete="SET NULL"
    )
    patient_no: str | None = Field(default=None, max_length=50)
    message_id: uuid.UUID | None = Field(
        default=None, foreign_key="message.id", ondelete="SET NULL"
    )
    keyword: str | None = Field(default=None, max_length=10)
    read: bool = False
    follow_up: bool = False
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


reply_table = table_of(Reply)
