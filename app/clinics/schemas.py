import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ClinicCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Tannlege Berg Majorstuen"}]}
    )

    name: str = Field(min_length=1, max_length=200)


class ClinicPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a0f1-2b3c-7d4e-9f10-a1b2c3d4e5f6",
                    "name": "Tannlege Berg Majorstuen",
                    "created_at": "2026-12-01T12:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    created_at: datetime


class ClinicList(BaseModel):
    data: list[ClinicPublic]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Journalsystem"}]}, extra="forbid"
    )

    name: str = Field(default="default", min_length=1, max_length=100)


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a0f2-3c4d-7e5f-8a10-b1c2d3e4f5a6",
                    "clinic_id": "0193a0f1-2b3c-7d4e-9f10-a1b2c3d4e5f6",
                    "name": "Journalsystem",
                    "prefix": "csk_2E5HS4Bq",
                    "created_at": "2026-12-01T12:01:00Z",
                    "revoked_at": "2026-12-02T09:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    clinic_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a0f2-3c4d-7e5f-8a10-b1c2d3e4f5a6",
                    "clinic_id": "0193a0f1-2b3c-7d4e-9f10-a1b2c3d4e5f6",
                    "name": "Journalsystem",
                    "prefix": "csk_2E5HS4Bq",
                    "created_at": "2026-12-01T12:01:00Z",
                    "revoked_at": None,
                    "key": "csk_2E5HS4Bqb9dnIl7KZz2sR5YTwIRlZxQJAzEZRyeWzKY",
                }
            ]
        }
    )

    key: str = Field(description="The key itself. Shown once; only its hash is stored.")
