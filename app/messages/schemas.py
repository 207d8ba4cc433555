import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from app.messages.models import STATUS_CODES, Message, MessageStatus
from app.sms.schemas import Cost
from app.sms.service import money
from app.templates.defaults import TemplateType

MAX_BULK_RECIPIENTS = 10_000

SkipReason = Literal[
    "no_mobile",
    "invalid_number",
    "no_consent",
    "opted_out",
    "no_marketing_consent",
    "within_min_lead",
    "sms_disabled",
    "policy_none",
    "duplicate",
    "unknown_patient",
    "too_long",
    "unsupported_characters",
    "cap_reached",
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageContent(StrictModel):
    template_type: TemplateType | None = Field(
        default=None, description="Render this clinic's template; or give `text`"
    )
    text: str | None = Field(default=None, min_length=1, max_length=2000)
    merge_values: dict[str, str] = Field(
        default_factory=dict, description="Values for [URL], [Tidspunkt] … overriding defaults"
    )
    send_after: AwareDatetime | None = Field(default=None, description="Earliest; default now")
    expires_at: AwareDatetime | None = Field(
        default=None, description="Latest; default 24 h after send_after, or the appointment"
    )
    allow_reply: bool | None = Field(default=None, description="Default: the template's")
    appointment_id: str | None = Field(default=None, max_length=100)
    practitioner: str | None = Field(default=None, max_length=100)
    include_guardians: bool | None = Field(
        default=None, description="Also text the patient's guardians; default: clinic setting"
    )

    @model_validator(mode="after")
    def _template_or_text(self) -> Self:
        if (self.template_type is None) == (self.text is None):
            raise ValueError("give exactly one of template_type and text")
        return self


class MessageCreate(MessageContent):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "patient_no": "10234",
                    "text": "Hei Kari! Husk timen din hos Tannlege Berg i morgen kl. 09.15.",
                }
            ]
        }
    )

    patient_no: str | None = Field(default=None, max_length=50)
    to: str | None = Field(default=None, description="A bare number instead of a patient")

    @model_validator(mode="after")
    def _one_recipient(self) -> Self:
        if (self.patient_no is None) == (self.to is None):
            raise ValueError("give exactly one of patient_no and to")
        return self


class BulkMessageCreate(MessageContent):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"patient_nos": ["10234", "10235"], "template_type": "recall"}]
        }
    )

    patient_nos: list[str] = Field(min_length=1, max_length=MAX_BULK_RECIPIENTS)


class MessagePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                    "status": "sent",
                    "status_code": "S",
                    "type": "reminder_1",
                    "patient_no": "10234",
                    "patient_name": "Kari Nordmann",
                    "recipient_role": "patient",
                    "recipient_name": "Kari Nordmann",
                    "to": "+4791234567",
                    "practitioner": "Tannlege Berg",
                    "appointment_id": "A-2026-1203-0915",
                    "allow_reply": True,
                    "failure_reason": None,
                    "failure_detail": None,
                    "delivery": "delivered",
                    "delivery_reason": None,
                    "provider": "linkmobility",
                    "created_at": "2026-12-01T13:05:12Z",
                    "send_after": "2026-12-02T08:00:00Z",
                    "scheduled_for": "2026-12-02T08:00:00Z",
                    "sent_at": "2026-12-02T08:00:04Z",
                    "delivered_at": "2026-12-02T08:00:09Z",
                    "answered_at": None,
                    "cancelled_at": None,
                    "expires_at": "2026-12-03T08:15:00Z",
                    "text": (
                        "Hei Kari! Husk timen hos Tannlege Berg torsdag 3. desember kl. 09:15. "
                        "Svar JA for å bekrefte eller NEI for å avbestille."
                    ),
                    "encoding": "UCS-2",
                    "segments": 2,
                    "cost": {"amount": "0.90", "currency": "NOK"},
                    "erased": False,
                }
            ]
        }
    )

    id: uuid.UUID
    status: MessageStatus
    status_code: Literal["V", "S", "SB", "F", "A"]
    type: str
    patient_no: str | None
    patient_name: str | None
    recipient_role: str
    recipient_name: str | None
    to: str | None
    practitioner: str | None
    appointment_id: str | None
    allow_reply: bool
    failure_reason: str | None = Field(
        description="Why it failed (expired, provider_rejected …) or was cancelled by us: "
        "confirmed (the patient answered JA, so it asks no more), reminders_off (the "
        "appointment's reminders were switched off), no_consent, opted_out …"
    )
    failure_detail: str | None
    delivery: str | None
    delivery_reason: str | None = Field(
        description="`no_report`: no report came in the provider's window, so the delivery "
        "was settled `unknown`"
    )
    provider: str | None = Field(
        description="The provider that took it, or was last asked to (after a failover, "
        "the secondary); null before it was first handed to one"
    )
    created_at: datetime
    send_after: datetime
    scheduled_for: datetime | None = Field(
        description="When the worker will send it, pauses applied"
    )
    sent_at: datetime | None
    delivered_at: datetime | None
    answered_at: datetime | None
    cancelled_at: datetime | None
    expires_at: datetime
    text: str | None
    encoding: str
    segments: int
    cost: Cost
    erased: bool

    @classmethod
    def of(cls, message: Message) -> Self:
        status = MessageStatus(message.status)
        return cls(
            id=message.id,
            status=status,
            status_code=STATUS_CODES[status],
            type=message.type,
            patient_no=message.patient_no,
            patient_name=message.patient_name,
            recipient_role=message.recipient_role,
            recipient_name=message.recipient_name,
            to=message.to_number,
            practitioner=message.practitioner,
            appointment_id=message.appointment_id,
            allow_reply=message.allow_reply,
            failure_reason=message.failure_reason,
            failure_detail=message.failure_detail,
            delivery=message.delivery,
            delivery_reason=message.delivery_reason,
            provider=message.provider,
            created_at=message.created_at,
            send_after=message.send_after,
            scheduled_for=message.next_attempt_at if status is MessageStatus.PENDING else None,
            sent_at=message.sent_at,
            delivered_at=message.delivered_at,
            answered_at=message.answered_at,
            cancelled_at=message.cancelled_at,
            expires_at=message.expires_at,
            text=message.text,
            encoding=message.encoding,
            segments=message.segments,
            cost=Cost(amount=money(message.cost), currency=message.currency),
            erased=message.erased_at is not None,
        )


class SkippedRecipient(BaseModel):
    recipient_role: str
    recipient_name: str | None
    reason: SkipReason


DRY_RUN_ID = "null in a dry run (`dry_run=true`): the message was not stored"


PENDING_EXAMPLE: JsonDict = {
    "id": "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
    "status": "pending",
    "status_code": "V",
    "type": "general",
    "patient_no": "10234",
    "patient_name": "Kari Nordmann",
    "recipient_role": "patient",
    "recipient_name": "Kari Nordmann",
    "to": "+4791234567",
    "practitioner": None,
    "appointment_id": None,
    "allow_reply": False,
    "failure_reason": None,
    "failure_detail": None,
    "delivery": None,
    "delivery_reason": None,
    "provider": None,
    "created_at": "2026-12-02T20:30:00Z",
    "send_after": "2026-12-02T20:30:00Z",
    "scheduled_for": "2026-12-03T07:00:00Z",
    "sent_at": None,
    "delivered_at": None,
    "answered_at": None,
    "cancelled_at": None,
    "expires_at": "2026-12-04T07:00:00Z",
    "text": "Hei Kari! Klinikken holder stengt fredag 4. desember.",
    "encoding": "GSM-7",
    "segments": 1,
    "cost": {"amount": "0.45", "currency": "NOK"},
    "erased": False,
}
_WOULD_BE: JsonDict = PENDING_EXAMPLE | {"id": None}


class CreatedMessage(MessagePublic):
    model_config = ConfigDict(json_schema_extra={"examples": [_WOULD_BE]})

    id: uuid.UUID | None = Field(description=DRY_RUN_ID)  # type: ignore[assignment]


class MessagesCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [_WOULD_BE],
                    "skipped": [
                        {
                            "recipient_role": "guardian",
                            "recipient_name": "Ola Nordmann",
                            "reason": "no_consent",
                        }
                    ],
                    "dry_run": True,
                }
            ]
        }
    )

    data: list[CreatedMessage]
    skipped: list[SkippedRecipient] = Field(
        description="Recipients not texted, each with the reason; `cap_reached`: a spending "
        "cap already stops it today or this month (when it stops every recipient, `data` "
        "is empty and nothing is stored)"
    )
    dry_run: bool = Field(
        default=False, description="True when nothing was stored or sent (`dry_run=true`)"
    )


class BulkOutcome(BaseModel):
    patient_no: str
    outcome: Literal["queued", "skipped"]
    reason: SkipReason | None = None
    message_ids: list[uuid.UUID] = Field(
        default=[], description="Empty in a dry run: nothing was stored"
    )
    messages: list[CreatedMessage] | None = Field(
        default=None,
        description="Only in a dry run: the messages a real call would queue for this "
        "patient (texts, segments, cost; `id` null); null otherwise",
    )


class BulkResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "queued": 1,
                    "skipped": 1,
                    "outcomes": [
                        {
                            "patient_no": "10234",
                            "outcome": "queued",
                            "reason": None,
                            "message_ids": ["0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"],
                            "messages": None,
                        },
                        {
                            "patient_no": "10235",
                            "outcome": "skipped",
                            "reason": "no_consent",
                            "message_ids": [],
                            "messages": None,
                        },
                    ],
                    "dry_run": False,
                    "segments": None,
                    "cost": None,
                }
            ]
        }
    )

    queued: int
    skipped: int
    outcomes: list[BulkOutcome]
    dry_run: bool = Field(
        default=False, description="True when nothing was stored or sent (`dry_run=true`)"
    )
    segments: int | None = Field(
        default=None, description="Only in a dry run: the segments of every queued message"
    )
    cost: Cost | None = Field(
        default=None, description="Only in a dry run: what every queued message costs together"
    )


class MessageList(BaseModel):
    data: list[MessagePublic]
    next_cursor: str | None
