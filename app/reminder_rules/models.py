import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime


class ReminderRules(SQLModel, table=True):
    """A clinic's rules for appointment messages; a clinic without a row has the defaults."""

    __tablename__ = "reminder_rules"

    clinic_id: uuid.UUID = Field(primary_key=True, foreign_key="clinic.id", ondelete="CASCADE")
    reminder_1_enabled: bool = True
    reminder_1_hours_before: int = 24
    reminder_1_min_lead_hours: int = 2
    reminder_2_enabled: bool = False
    reminder_2_hours_before: int = 4
    reminder_2_min_lead_hours: int = 2
    reminder_2_only_if_unconfirmed: bool = True
    reminder_3_enabled: bool = False
    reminder_3_hours_before: int = 2
    reminder_3_min_lead_hours: int = 2
    reminder_3_only_if_unconfirmed: bool = True
    booking_confirmation: bool = False
    cancellation_confirmation: bool = False
    thank_you_enabled: bool = False
    thank_you_hours_after: int = 2
    recall_enabled: bool = False
    recall_interval_months: int = 12
    recall_template_type: str = Field(default="recall", max_length=30)
    recall_days_before_due: int = 30
    recall_send_hour: int = 10
    recall_repeat_after_days: int = 30
    recall_max_attempts: int = 2
    recall_booking_url: str | None = Field(default=None, max_length=200)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
