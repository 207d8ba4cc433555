import uuid

from pydantic import BaseModel, ConfigDict, Field


class SimulatedReply(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"examples": [{"from": "+4791234567", "text": "JA"}]},
    )

    sender: str = Field(
        alias="from",
        min_length=1,
        max_length=32,
        description="The patient's number, national or E.164",
    )
    text: str = Field(min_length=1, max_length=1600, description="What the patient texts")


class SimulatedReplyResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"stored": True, "reply_id": "0b9f6c1e-3f0a-4d6e-9a51-2c8d7e4b1a90"}]
        }
    )

    stored: bool = Field(description="False for a repeat of an SMS already stored")
    reply_id: uuid.UUID | None
