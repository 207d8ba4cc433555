import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, utc_now


class MessageTemplate(SQLModel, table=True):
    """A clinic's text for one template type; every clinic has one row per type."""

    __tablename__ = "message_template"

    clinic_id: uuid.UUID = Field(primary_key=True, foreign_key="clinic.id", ondelete="CASCADE")
    type: str = Field(primary_key=True, max_length=40)
    text: str
    allow_reply: bool
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
