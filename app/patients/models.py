import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, utc_now


class Patient(SQLModel, table=True):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("clinic_id", "patient_no"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    patient_no: str = Field(max_length=50)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    mobile: str | None = Field(default=None, max_length=16)
    mobile_problem: str | None = Field(default=None, max_length=20)
    wants_sms: bool = False
    # Up to two: [{"name", "mobile", "mobile_problem", "wants_sms"}]
    guardians: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    marketing_consent: bool = False
    marketing_consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    search_text: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class PatientView(Protocol):
    """What sending needs of a patient: a `Patient`, or a plain row loaded in bulk."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def patient_no(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def mobile(self) -> str | None: ...
    @property
    def mobile_problem(self) -> str | None: ...
    @property
    def wants_sms(self) -> bool: ...
    @property
    def guardians(self) -> list[dict[str, Any]]: ...
    @property
    def opted_out_at(self) -> datetime | None: ...
    @property
    def marketing_consent(self) -> bool: ...


# The columns a PatientView reads, for loading plain rows in bulk.
PATIENT_VIEW_FIELDS = tuple(
    name for name, member in vars(PatientView).items() if isinstance(member, property)
)
