from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.config import JsonDict

from app.core.batch import MAX_BATCH_ITEMS, item_schema
from app.recalls.schemas import RECALL_STATUS_EXAMPLE, RecallStatus

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


FIRST_RECALL_DUE = date(2000, 1, 1)
LAST_RECALL_DUE = date(2199, 12, 31)


def _check_recall_due(value: date | None) -> date | None:
    if value is not None and not FIRST_RECALL_DUE <= value <= LAST_RECALL_DUE:
        raise ValueError(f"must be from {FIRST_RECALL_DUE} to {LAST_RECALL_DUE}")
    return value


RecallDue = Annotated[date | None, AfterValidator(_check_recall_due)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GuardianWrite(StrictModel):
    name: GuardianName
    mobile: MobileInput = None
    wants_sms: bool = False


class PatientWrite(StrictModel):
    """PUT: the whole patient; fields left out take their defaults, except `recall_due`,
    which stays as it was."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Kari",
                    "last_name": "Nordmann",
                    "mobile": "+4791234567",
                    "wants_sms": True,
                    "recall_due": "2027-01-15",
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
    recall_due: RecallDue = Field(
        default=None,
        description="When the patient is due for recall (a local date). Left out: unchanged; "
        "null: no recall, and a recall not yet sent is cancelled; a new date starts the "
        "recall over",
    )


class PatientBatchItem(PatientWrite):
    """One patient of a batch: the patient number and the whole patient, as in the single
    PUT."""

    patient_no: str = Field(
        min_length=1, max_length=MAX_PATIENT_NO_LENGTH, description="The practice system's number"
    )


class PatientBatch(BaseModel):
    """PUT: up to 1,000 patients, each saved as the single PUT saves it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "patients": [
                        {
                            "patient_no": "10234",
                            "first_name": "Kari",
                            "last_name": "Nordmann",
                            "mobile": "+4791234567",
                            "wants_sms": True,
                            "recall_due": "2027-01-15",
                        },
                        {
                            "patient_no": "10235",
                            "first_name": "Ola",
                            "last_name": "Hansen",
                            "mobile": "912 34 568",
                        },
                    ]
                }
            ]
        }
    )

    patients: Annotated[
        list[Any],
        WithJsonSchema(
            item_schema(
                PatientBatchItem,
                description="Each item is checked on its own: a bad one is answered as that "
                "item's error and the others are saved",
            )
        ),
    ] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class GuardianPublic(BaseModel):
    name: str
    mobile: str | None = Field(description="E.164")
    textable: bool
    not_textable_reason: NotTextableReason | None
    wants_sms: bool


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
                    "recall": RECALL_STATUS_EXAMPLE,
                }
            ]
        }
    )

    recall: RecallStatus = Field(description="Where the patient's recall stands")


class PatientList(BaseModel):
    data: list[PatientPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null = last")
