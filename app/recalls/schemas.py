import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class RecallState(StrEnum):
    """The seed's recall icons (ready to go, sent, received) and how a recall ends."""

    NONE = "none"
    SCHEDULED = "scheduled"
    SENT = "sent"
    DELIVERED = "delivered"
    BOOKED = "booked"
    SKIPPED = "skipped"


RecallSkipReason = Literal[
    "has_appointment",
    "no_mobile",
    "invalid_number",
    "no_consent",
    "opted_out",
    "no_marketing_consent",
    "policy_none",
    "template_error",
    "too_long",
    "unsupported_characters",
    "failed",
    "undelivered",
    "cap_reached",
    "cancelled",
]
"""`has_appointment`: the patient has a booked appointment ahead; the recipient reasons as for
messages (a patient saved with a number or consent is looked at again); `template_error` (the
template needs a value the clinic lacks), `too_long` and `unsupported_characters` (the
clinic's provider cannot carry some of the text, e.g. an emoji on LINK); `failed`,
`undelivered`: the latest recall message did not reach the patient; `cap_reached`: a spending
cap held it back; `cancelled`: it was cancelled by hand."""

RECALL_STATUS_EXAMPLE: JsonDict = {
    "state": "delivered",
    "skip_reason": None,
    "due_date": "2027-01-15",
    "attempts": 1,
    "next_send_at": "2027-01-15T09:00:00Z",
    "message_id": "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
    "sent_at": "2026-12-16T09:00:03Z",
    "delivered_at": "2026-12-16T09:00:08Z",
}


class RecallStatus(BaseModel):
    """Where a patient's recall stands."""

    model_config = ConfigDict(json_schema_extra={"examples": [RECALL_STATUS_EXAMPLE]})

    state: RecallState = Field(
        description="`none` (no due date), `scheduled` (its recall waits to go), `sent`, "
        "`delivered` (the phone confirmed it), `booked` (an appointment was booked after a "
        "recall went), `skipped` (see `skip_reason`)"
    )
    skip_reason: RecallSkipReason | None
    due_date: date | None = Field(description="`recall_due` as the practice system set it")
    attempts: int = Field(description="Recall messages made for this due date")
    next_send_at: datetime | None = Field(
        description="When the next recall goes (a repeat, for a patient who has not booked): "
        "the message's time once made, two hours ahead; before that the earliest the rule "
        "allows, which the daily cap may move to a later day. Null when none will go"
    )
    message_id: uuid.UUID | None = Field(description="The latest recall message")
    sent_at: datetime | None
    delivered_at: datetime | None


NO_RECALL = RecallStatus(
    state=RecallState.NONE,
    skip_reason=None,
    due_date=None,
    attempts=0,
    next_send_at=None,
    message_id=None,
    sent_at=None,
    delivered_at=None,
)


class RecallPublic(RecallStatus):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"patient_no": "10234", **RECALL_STATUS_EXAMPLE}]}
    )

    patient_no: str
    due_date: date


class RecallList(BaseModel):
    data: list[RecallPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null = last")
