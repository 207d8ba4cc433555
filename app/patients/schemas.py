import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

MAX_GUARDIANS = 2
MAX_PATIENT_NO_LENGTH = 50
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class NotTextableReason(StrEnum):
    """Why a number gets no SMS; stored as `mobile_problem` (null = textable)."""

    NO_MOBILE = "no_mobile"
    NOT_MOBILE = "not_mobile"


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
GuardianName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
MobileInput = Annotated[
    str | None,
    Field(
        max_length=40,
        description=(
            "National (`912 34 567`, in the clinic's country), `+47…` or `0047…`; stored in "
            "E.164. Null or blank = no mobile. A valid number that is not a mobile number is "
            "stored but gets no SMS (`not_textable_reason`: `not_mobile`)."
        ),
    ),
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GuardianWrite(StrictModel):
    name: GuardianName
    mobile: MobileInput = None
    wants_sms: bool = False


class PatientWrite(StrictModel):
    """PUT: the whole patient; fields left out take their defaults."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Kari",
                    "last_name": "Nordmann",
                    "mobile": "+4791234567",
                    "wants_sms": True,
                }
            ]
        }
    )

    first_name: Name
    last_name: Name
    mobile: MobileInput = None
    wants_sms: bool = Field(
        default=False, description="Consent to service SMS under the `opted_in_only` policy"
    )
    marketing_consent: bool = Field(
        default=False,
        description="Explicit consent to marketing and offers (markedsføringsloven § 15)",
    )
    guardians: list[GuardianWrite] = Field(
        default_factory=list, max_length=MAX_GUARDIANS, description="Up to two"
    )


class GuardianPublic(BaseModel):
    name: str
    mobile: str | None = Field(description="E.164")
    textable: bool
    not_textable_reason: NotTextableReason | None
    wants_sms: bool


class RecallState(StrEnum):
    """The seed's recall icons: ready to go, sent, delivered; or failed, cancelled."""

    READY = "ready"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RecallStatus(BaseModel):
    state: RecallState
    message_id: uuid.UUID
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


PATIENT_EXAMPLE: JsonDict = {
    "patient_no": "10234",
    "first_name": "Kari",
    "last_name": "Nordmann",
    "mobile": "+4791234567",
    "textable": True,
    "not_textable_reason": None,
    "wants_sms": True,
    "marketing_consent": False,
    "marketing_consent_at": None,
    "guardians": [],
    "opted_out": False,
    "opted_out_at": None,
    "created_at": "2026-12-01T13:05:12Z",
    "updated_at": "2026-12-01T13:05:12Z",
}


class PatientPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PATIENT_EXAMPLE]})

    patient_no: str
    first_name: str
    last_name: str
    mobile: str | None = Field(description="E.164")
    textable: bool = Field(description="The mobile number can take an SMS")
    not_textable_reason: NotTextableReason | None
    wants_sms: bool
    guardians: list[GuardianPublic]
    opted_out: bool = Field(
        description="Replied STOPP: no marketing or offers (reminders still go)"
    )
    opted_out_at: datetime | None
    marketing_consent: bool
    marketing_consent_at: datetime | None = Field(description="When consent was given")
    created_at: datetime
    updated_at: datetime


class PatientDetail(PatientPublic):
    """One patient, as GET /v1/patients/{patient_no} shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **PATIENT_EXAMPLE,
                    "recall": {
                        "state": "delivered",
                        "message_id": "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                        "created_at": "2026-11-02T09:00:00Z",
                        "sent_at": "2026-11-02T09:00:03Z",
                        "delivered_at": "2026-11-02T09:00:08Z",
                    },
                }
            ]
        }
    )

    recall: RecallStatus | None = Field(
        description="The latest recall message (`recall` template); null if none was made"
    )


class PatientList(BaseModel):
    data: list[PatientPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null = last")
