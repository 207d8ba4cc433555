from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.templates.defaults import TemplateType

MAX_HOURS = 720  # 30 days
BookingUrl = Annotated[str, StringConstraints(max_length=200, pattern=r"^https?://[^\s]+$")]
REMINDER_NUMBERS = (1, 2, 3)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReminderRule(StrictModel):
    enabled: bool
    hours_before: int = Field(
        ge=1, le=MAX_HOURS, description="Elapsed hours before the start (DST-safe)"
    )
    min_lead_hours: int = Field(
        default=2,
        ge=0,
        le=MAX_HOURS,
        description=(
            "A reminder whose time has passed when the appointment is booked goes at once if "
            "the appointment is at least this far away, else it is skipped (`within_min_lead`)"
        ),
    )


class LaterReminderRule(ReminderRule):
    """Reminder 2 or 3: by default only for an appointment the patient has not confirmed."""

    only_if_unconfirmed: bool = Field(
        default=True,
        description=(
            "Skip this reminder once the patient has answered JA (reason `confirmed`); a JA "
            "cancels it if it is waiting"
        ),
    )


class ThankYouRule(StrictModel):
    enabled: bool = False
    hours_after: int = Field(default=2, ge=0, le=MAX_HOURS, description="Hours after the end")


class RecallRule(StrictModel):
    """Recalls go to patients with a `recall_due` date, except those with a booked
    appointment ahead; the clinic's `recall_daily_cap` spreads a long list over days."""

    enabled: bool = False
    interval_months: int = Field(default=12, ge=1, le=60)
    template_type: TemplateType = TemplateType.RECALL
    days_before_due: int = Field(
        default=30,
        ge=0,
        le=365,
        description="The first recall goes this many days before the due date",
    )
    send_hour: int = Field(
        default=10,
        ge=0,
        le=23,
        description="Hour of the day, in the clinic's time zone; in a pause it moves to the "
        "pause's end, as for general messages",
    )
    repeat_after_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="A patient who has not booked gets the next recall this many days later",
    )
    max_attempts: int = Field(
        default=2, ge=1, le=5, description="Recalls per due date, the first included; 1: no repeat"
    )
    booking_url: BookingUrl | None = Field(
        default=None, description="[URL] in the recall text: where patients book"
    )


class ReminderRulesWrite(StrictModel):
    """PUT: the whole rule set; parts left out take their defaults. Enabled reminders must be
    in order: reminder 1 goes earliest (the most hours before), reminder 3 latest."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reminder_1": {"enabled": True, "hours_before": 24, "min_lead_hours": 2},
                    "reminder_2": {
                        "enabled": True,
                        "hours_before": 4,
                        "min_lead_hours": 2,
                        "only_if_unconfirmed": True,
                    },
                    "reminder_3": {
                        "enabled": False,
                        "hours_before": 2,
                        "min_lead_hours": 2,
                        "only_if_unconfirmed": True,
                    },
                    "booking_confirmation": True,
                    "cancellation_confirmation": True,
                    "thank_you": {"enabled": False, "hours_after": 2},
                    "recall": {
                        "enabled": True,
                        "interval_months": 12,
                        "template_type": "recall",
                        "days_before_due": 30,
                        "send_hour": 10,
                        "repeat_after_days": 30,
                        "max_attempts": 2,
                        "booking_url": "https://tannlegeberg.no/bestill",
                    },
                }
            ]
        }
    )

    reminder_1: ReminderRule = ReminderRule(enabled=True, hours_before=24)
    reminder_2: LaterReminderRule = LaterReminderRule(enabled=False, hours_before=4)
    reminder_3: LaterReminderRule = LaterReminderRule(enabled=False, hours_before=2)
    booking_confirmation: bool = Field(
        default=False, description="Text the patient when an appointment is booked or moved"
    )
    cancellation_confirmation: bool = Field(
        default=False, description="Text the patient when a booked appointment is cancelled"
    )
    thank_you: ThankYouRule = ThankYouRule()
    recall: RecallRule = RecallRule()


class ReminderRulesPublic(ReminderRulesWrite):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reminder_1": {"enabled": True, "hours_before": 24, "min_lead_hours": 2},
                    "reminder_2": {
                        "enabled": True,
                        "hours_before": 4,
                        "min_lead_hours": 2,
                        "only_if_unconfirmed": True,
                    },
                    "reminder_3": {
                        "enabled": False,
                        "hours_before": 2,
                        "min_lead_hours": 2,
                        "only_if_unconfirmed": True,
                    },
                    "booking_confirmation": True,
                    "cancellation_confirmation": True,
                    "thank_you": {"enabled": False, "hours_after": 2},
                    "recall": {
                        "enabled": True,
                        "interval_months": 12,
                        "template_type": "recall",
                        "days_before_due": 30,
                        "send_hour": 10,
                        "repeat_after_days": 30,
                        "max_attempts": 2,
                        "booking_url": "https://tannlegeberg.no/bestill",
                    },
                    "updated_at": "2026-12-01T13:02:00Z",
                }
            ]
        }
    )

    updated_at: datetime | None = Field(description="Null while the clinic has the defaults")
