import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of


class StoredDeliveryReport(SQLModel, table=True):
    """One delivery report (or one report per part of a long message) as a provider sent it.

    The unique key makes a repeated report a no-op. Only normalized fields are kept, never
    the body: bodies hold phone numbers, which erasure could not find here.
    """

    __tablename__ = "delivery_report"
    __table_args__ = (
        UniqueConstraint("clinic_id", "provider", "external_id", "status_code"),
        Index("ix_delivery_report_message", "message_id"),
        Index("ix_delivery_report_clinic_received", "clinic_id", "received_at"),
        Index(
            "ix_delivery_report_unapplied",
            "received_at",
            postgresql_where=text("applied_at IS NULL"),
            sqlite_where=text("applied_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    provider: str = Field(max_length=20)
    # The provider's id of what the report is about: LINK `id` (with `$n` for part n),
    # Sinch `batch_id`, Twilio `MessageSid`.
    external_id: str = Field(max_length=120)
    status_code: str = Field(max_length=40)
    # Ours, as echoed by the provider; not a foreign key: reports are stored before they
    # are matched, and one for a message we do not know is acknowledged all the same.
    message_id: uuid.UUID | None = None
    part: int | None = Field(default=None, description="0-based part; null = whole message")
    state: str = Field(max_length=12)
    detail: str | None = Field(default=None, max_length=200)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


delivery_report_table = table_of(StoredDeliveryReport)
