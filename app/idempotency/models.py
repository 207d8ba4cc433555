import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, utc_now


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed for repeats."""

    __tablename__ = "idempotency_record"

    clinic_id: uuid.UUID = Field(primary_key=True, foreign_key="clinic.id", ondelete="CASCADE")
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: dict[str, Any] = Field(sa_type=JSON)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
