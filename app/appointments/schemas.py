import datetime as dt
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from app.appointments.models import AppointmentStatus, Confirmation
from app.appointments.scheduling import AppointmentSkipReason, Kind
from app.appointments.state import ReminderState
from app.core.batch import MAX_BATCH_ITEMS, item_schema
from app.templates.defaults import TemplateType

MAX_APPOINTMENT_ID_LENGTH = 100
MAX_DAY_APPOINTMENTS = 1000
# Far beyond any practice's calendar, and far inside what date arithmetic can reach.
FIRST_YEAR, LAST_YEAR = 1970, 2199


def _within_years(value: dt.date) -> dt.date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be in the years {FIRST_YEAR}-{LAST_YEAR}")
    return value


def _time_within_years(value: datetime) -> datetime:
    _within_years(value.date())
    return value


AppointmentDay = Annotated[dt.date, AfterValidator(_within_years)]
AppointmentTime = Annotated[AwareDatetime, AfterValidator(_time_within_years)]

Practitioner = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppointmentWrite(StrictModel):
    """PUT: the whole appointment as the practice system has it now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "patient_no": "10234",
                    "practitioner": "Tannlege Berg",
                    "start": "2026-12-07T09:15:00+01:00",
                    "end": "2026-12-07T09:45:00+01:00",
                    "status": "booked",
                    "sms_reminders": True,
                }
            ]
        }
    )

    patient_no: str = Field(min_length=1, max_length=50, description="A patient pushed before")
    practitioner: Practitioner = Field(description="[Behandler]")
    start: AppointmentTime = Field(description="With its offset, e.g. 2026-12-07T08:30:00+01:00")
    end: AppointmentTime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    sms_reminders: bool = Field(
        default=True,
        description=(
            "The appointment book's SMS reminder tick. False: no automatic reminders, and "
            "waiting ones are cancelled (reason `reminders_off`); booking and cancellation "
            "confirmations follow their own rules. True again schedules the reminders still "
            "ahead by the usual rules (pauses, minimum lead time)."
        ),
    )

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("must be after start")
        return end


class AppointmentBatchItem(AppointmentWrite):
    """One appointment of a batch: its id and the whole appointment, as in the single PUT."""

    appointment_id: str = Field(
        min_length=1,
        max_length=MAX_APPOINTMENT_ID_LENGTH,
        description="The practice system's own id for the appointment",
    )


class AppointmentBatch(BaseModel):
    """PUT: up to 1,000 appointments, each saved as the single PUT saves it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "appointments": [
                        {
                            "appointment_id": "A-2026-1203-0915",
                            "patient_no": "10234",
                            "practitioner": "Tannlege Berg",
                            "start": "2026-12-07T09:15:00+01:00",
                            "end": "2026-12-07T09:45:00+01:00",
                            "status": "booked",
                            "sms_reminders": True,
                        }
                    ]
                }
            ]
        }
    )

    appointments: Annotated[
        list[Any],
        WithJsonSchema(
            item_schema(
                AppointmentBatchItem,
                description="Each item is checked on its own: a bad one is answered as that "
                "item's error and the others are saved",
            )
        ),
    ] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class ScheduleEntry(BaseModel):
    """One kind of message for the appointment's current start time."""

    kind: Kind
    state: ReminderState
    reason: AppointmentSkipReason | None = Field(description="Why it was skipped")
    message_ids: list[uuid.UUID]
    scheduled_for: datetime | None = Field(description="When a pending one will go")
    sent_at: datetime | None


class AppointmentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "appointment_id": "A-2026-1203-0915",
                    "patient_no": "10234",
                    "practitioner": "Tannlege Berg",
                    "start": "2026-12-03T09:15:00+01:00",
                    "end": "2026-12-03T09:45:00+01:00",
                    "status": "booked",
                    "sms_reminders": True,
                    "confirmation": None,
                    "confirmation_at": None,
                    "reminder_state": "scheduled",
                    "reminder_skip_reason": None,
                    "schedule": [
                        {
                            "kind": "reminder_1",
                            "state": "scheduled",
                            "reason": None,
                            "message_ids": ["0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"],
                            "scheduled_for": "2026-12-02T08:00:00Z",
                            "sent_at": None,
                        }
                    ],
                    "created_at": "2026-12-01T13:06:00Z",
                    "updated_at": "2026-12-01T13:06:00Z",
                }
            ]
        }
    )

    appointment_id: str
    patient_no: str
    practitioner: str
    start: datetime
    end: datetime
    status: AppointmentStatus
    sms_reminders: bool
    confirmation: Confirmation | None = Field(description="The patient's reply to a reminder")
    confirmation_at: datetime | None
    reminder_state: ReminderState = Field(
        description=(
            "The appointment book's icon for reminders 1-3: none, scheduled, sent_unconfirmed "
            "(no answer from the provider: check by hand), accepted, delivered, "
            "awaiting_delivery (sent over 1 h ago, appointment over 4 h away), at_risk "
            "(not delivered, under 4 h to go), failed, or skipped (see reminder_skip_reason)"
        )
    )
    reminder_skip_reason: AppointmentSkipReason | None
    schedule: list[ScheduleEntry] = Field(description="Each kind of message for this start")
    created_at: datetime
    updated_at: datetime


class AppointmentList(BaseModel):
    data: list[AppointmentPublic]


ReminderNumber = Literal[1, 2, 3]


class ReminderRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reminders": [1]}]})

    reminders: list[ReminderNumber] = Field(
        min_length=1,
        max_length=3,
        description="Which reminders to add: each goes at its rule's time (hours before), or "
        "at once if that has passed",
    )


class ReminderOutcome(BaseModel):
    reminder: int = Field(ge=1, le=3)
    outcome: Literal["queued", "skipped"]
    reason: AppointmentSkipReason | None = None
    message_ids: list[uuid.UUID] = []
    scheduled_for: datetime | None = None


class ReminderResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcomes": [
                        {
                            "reminder": 1,
                            "outcome": "queued",
                            "reason": None,
                            "message_ids": ["0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"],
                            "scheduled_for": "2026-12-02T08:00:00Z",
                        }
                    ]
                }
            ]
        }
    )

    outcomes: list[ReminderOutcome]


DayTemplate = Literal[
    TemplateType.REMINDER_1,
    TemplateType.REMINDER_2,
    TemplateType.REMINDER_3,
    TemplateType.NOTICE,
    TemplateType.THANK_YOU,
]


class DayReminderRequest(StrictModel):
    """Text a day's patients now ("today's patients")."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-12-03",
                    "appointment_ids": ["A-2026-1203-0915"],
                    "template_type": "reminder_1",
                }
            ]
        }
    )

    date: AppointmentDay = Field(description="The day, in the clinic's time zone")
    appointment_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DAY_APPOINTMENTS,
        description="Only these of the day's appointments; default: all of them (those not "
        "booked are skipped as `not_booked`)",
    )
    template_type: DayTemplate = TemplateType.REMINDER_1


class DayOutcome(BaseModel):
    appointment_id: str
    patient_no: str | None
    outcome: Literal["queued", "skipped"]
    reason: AppointmentSkipReason | None = None
    message_ids: list[uuid.UUID] = []


class DayResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "queued": 1,
                    "skipped": 1,
                    "outcomes": [
                        {
                            "appointment_id": "A-2026-1203-0915",
                            "patient_no": "10234",
                            "outcome": "queued",
                            "reason": None,
                            "message_ids": ["0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"],
                        },
                        {
                            "appointment_id": "A-2026-1203-1000",
                            "patient_no": "10235",
                            "outcome": "skipped",
                            "reason": "no_mobile",
                            "message_ids": [],
                        },
                    ],
                }
            ]
        }
    )

    queued: int
    skipped: int
    outcomes: list[DayOutcome]
