import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.replies.keywords import Keyword
from app.replies.models import Reply


class ReplyPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1b0-2d3e-7f40-9b5c-6d7e8f9a0b1c",
                    "received_at": "2026-12-02T08:14:31Z",
                    "from": "+4791234567",
                    "to": "+4790012345",
                    "text": "JA",
                    "provider": "linkmobility",
                    "patient_no": "10234",
                    "message_id": "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                    "keyword": "confirm",
                    "read": False,
                    "follow_up": False,
                    "erased": False,
                }
            ]
        },
        populate_by_name=True,
    )

    id: uuid.UUID
    received_at: datetime
    from_: str | None = Field(alias="from", description="The sender, E.164 when it is a number")
    to: str | None = Field(description="Our number (or short code) it was sent to")
    text: str | None
    provider: str
    patient_no: str | None = Field(description="The patient matched by number, if any")
    message_id: uuid.UUID | None = Field(
        description="The newest reply-able message sent to this number within the reply window"
    )
    keyword: Keyword | None = Field(
        description="stop/start (opt-out and back in), confirm/cancel (a reply to a reminder "
        "or booking confirmation with the clinic's confirm or cancel keyword)"
    )
    read: bool
    follow_up: bool
    erased: bool

    @classmethod
    def of(cls, reply: Reply) -> "ReplyPublic":
        return cls(
            id=reply.id,
            received_at=reply.received_at,
            from_=reply.from_number,
            to=reply.to_number,
            text=reply.text,
            provider=reply.provider,
            patient_no=reply.patient_no,
            message_id=reply.message_id,
            keyword=Keyword(reply.keyword) if reply.keyword else None,
            read=reply.read,
            follow_up=reply.follow_up,
            erased=reply.erased_at is not None,
        )


class ReplyList(BaseModel):
    data: list[ReplyPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null = last")


class ReplyPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"read": True, "follow_up": False}]}
    )

    read: bool | None = None
    follow_up: bool | None = None
