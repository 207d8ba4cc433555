import uuid
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, Time
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, table_of, utc_now
from app.core.secrets import SealedJSON


class ClinicSettings(SQLModel, table=True):
    __tablename__ = "clinic_settings"

    clinic_id: uuid.UUID = Field(primary_key=True, foreign_key="clinic.id", ondelete="CASCADE")
    sms_enabled: bool = True
    provider: str = Field(default="sandbox", max_length=20)
    provider_credentials: dict[str, Any] = Field(default_factory=dict, sa_type=SealedJSON)
    # Takes a message the provider provably did not (its credentials sit beside the
    # primary's in `provider_credentials`, sealed alike).
    secondary_provider: str | None = Field(default=None, max_length=20)
    sender_name: str | None = Field(default=None, max_length=11)
    reply_number: str | None = Field(default=None, max_length=16)
    business_phone: str | None = Field(default=None, max_length=16)
    country: str = Field(default="NO", max_length=2)
    time_zone: str = Field(default="Europe/Oslo", max_length=64)
    pause_saturday: bool = True
    pause_sunday: bool = True
    night_start: time | None = Field(default=time(21, 0), sa_type=Time)
    night_end: time | None = Field(default=time(8, 0), sa_type=Time)
    reminder_policy: str = Field(default="all_valid_mobile", max_length=20)
    include_guardians: bool = False
    price_per_segment: Decimal = Field(default=Decimal("0"), sa_type=Numeric(10, 4))
    currency: str = Field(default="NOK", max_length=3)
    max_segments: int = 6
    smart_encoding: bool = True
    reply_window_hours: int = 72
    retention_days: int = 365
    confirm_keyword: str = Field(default="JA", max_length=20)
    cancel_keyword: str = Field(default="NEI", max_length=20)
    rate_limit_per_minute: int | None = None
    recall_daily_cap: int | None = None
    # Spending caps (app/caps): null is no cap.
    monthly_spend_cap: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    max_per_patient_per_day: int | None = 3
    cap_exempts_service: bool = True
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


clinic_settings_table = table_of(ClinicSettings)
