from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.templates.defaults import TemplateType

MAX_HOURS = 720  # 30 days
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
    enabled: bool = False
    interval_months: int = Field(default=12, ge=1, le=60)
    template_type: TemplateType = TemplateType.RECALL


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
                    "recall": {"enabled": True, "interval_months": 12, "template_type": "recall"},
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
                    "recall": {"enabled": True, "interval_months": 12, "template_type": "recall"},
                    "updated_at": "2026-12-01T13:02:00Z",
                }
            ]
        }
    )

    updated_at: datetime | None = Field(description="Null while the clinic has the defaults")
