import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, table_of


class CapNotice(SQLModel, table=True):
    """That the practice system was told a cap held a message back in this period: one
    `cap.reached` event per clinic, cap and period (a month or a day, the clinic's own)."""

    __tablename__ = "cap_notice"

    clinic_id: uuid.UUID = Field(primary_key=True, foreign_key="clinic.id", ondelete="CASCADE")
    cap: str = Field(primary_key=True, max_length=30)
    period: str = Field(primary_key=True, max_length=10)
    noticed_at: datetime = Field(sa_type=UTCDateTime)


cap_notice_table = table_of(CapNotice)
