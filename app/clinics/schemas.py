import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ClinicCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Tannlege Berg Majorstuen"}]}
    )

    name: str = Field(min_length=1, max_length=200)


class ClinicPublic(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime


class ClinicList(BaseModel):
    data: list[ClinicPublic]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=100)


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    clinic_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown once; only its hash is stored.")
