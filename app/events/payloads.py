"""The events we POST to the practice system, as the contract's OpenAPI 3.1 `webhooks`.

The bodies are built by `signing.event_body` from the `data` of each event type; these
models only describe them (tests hold the two together).
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.events.models import EventType
from app.messages.models import MessageStatus
from app.replies.keywords import Keyword

Schema = dict[str, Any]

_EVENT_ID = "0193a1c2-7e4f-7d1a-9c3b-5e8f2a6b4c10"
_REPLY_ID = "0193a1c2-8a10-7b22-8d4e-1f2a3b4c5d6e"
_MESSAGE_ID = "0193a1b0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"


class MessageStatusChanged(BaseModel):
    """No text and no number: the practice system has both."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message_id": _MESSAGE_ID,
                    "status": "sent",
                    "status_code": "S",
                    "delivery": "delivered",
                    "type": "reminder_1",
                    "patient_no": "10234",
                    "appointment_id": "A-2026-1203-0915",
                    "failure_reason": None,
                    "failure_detail": None,
                    "sent_at": "2026-12-02T08:00:04Z",
                    "delivered_at": "2026-12-02T08:00:09Z",
                    "answered_at": None,
                    "failed_at": None,
                }
            ]
        }
    )

    message_id: uuid.UUID
    status: MessageStatus
    status_code: Literal["V", "S", "SB", "F", "A"]
    delivery: str | None
    type: str
    patient_no: str | None
    appointment_id: str | None
    failure_reason: str | None = Field(
        description="Why it failed (expired, provider_rejected …) or was cancelled by us: "
        "confirmed (the patient answered JA, so it asks no more), reminders_off (the "
        "appointment's reminders were switched off), no_consent, opted_out …"
    )
    failure_detail: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    answered_at: datetime | None
    failed_at: datetime | None


class ReplyReceived(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "reply_id": _REPLY_ID,
                    "received_at": "2026-12-02T08:14:31Z",
                    "from": "+4791234567",
                    "to": "+4790012345",
                    "text": "JA",
                    "patient_no": "10234",
                    "message_id": _MESSAGE_ID,
                    "keyword": "confirm",
                }
            ]
        },
    )

    reply_id: uuid.UUID
    received_at: datetime
    from_number: str = Field(alias="from")
    to: str
    text: str
    patient_no: str | None
    message_id: uuid.UUID | None
    keyword: Keyword | None


class PatientOptChanged(BaseModel):
    """STOPP (opted out of marketing) or START (back in), by SMS."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"patient_no": "10234", "reply_id": _REPLY_ID, "at": "2026-12-02T08:14:31Z"}
            ]
        }
    )

    patient_no: str
    reply_id: uuid.UUID
    at: datetime


class AppointmentReplied(BaseModel):
    """The patient answered JA (confirmed) or NEI (asks to cancel) to the appointment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "appointment_id": "A-2026-1203-0915",
                    "reply_id": _REPLY_ID,
                    "at": "2026-12-02T08:14:31Z",
                }
            ]
        }
    )

    appointment_id: str
    reply_id: uuid.UUID
    at: datetime


class CapReached(BaseModel):
    """A cap held a message back: told once per clinic, cap and period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cap": "monthly_spend_cap",
                    "period": "2026-12",
                    "limit": "1500.00",
                    "currency": "NOK",
                    "message_id": _MESSAGE_ID,
                    "at": "2026-12-02T08:00:04Z",
                }
            ]
        }
    )

    cap: Literal["monthly_spend_cap", "max_per_patient_per_day"] = Field(
        description="The clinic setting whose cap was reached"
    )
    period: str = Field(
        description="The clinic's month (`2026-12`) for the spend cap, its day "
        "(`2026-12-02`) for the daily cap; later messages held back in it send no new event"
    )
    limit: str = Field(description="The cap as it was: an amount, or a number of messages")
    currency: str | None = Field(description="The spend cap's currency; null for the daily cap")
    message_id: uuid.UUID | None = Field(
        description="The first message held back (status cancelled, failure_reason "
        "cap_reached); null when a request was answered skipped and nothing was stored"
    )
    at: datetime


EVENT_DATA: dict[EventType, tuple[type[BaseModel], str]] = {
    EventType.MESSAGE_STATUS_CHANGED: (MessageStatusChanged, "A message moved on"),
    EventType.REPLY_RECEIVED: (ReplyReceived, "An SMS came in"),
    EventType.PATIENT_OPTED_OUT: (PatientOptChanged, "A patient texted STOPP"),
    EventType.PATIENT_OPTED_IN: (PatientOptChanged, "A patient texted START"),
    EventType.APPOINTMENT_CONFIRMED: (AppointmentReplied, "A patient confirmed (JA)"),
    EventType.APPOINTMENT_CANCELLATION_REQUESTED: (
        AppointmentReplied,
        "A patient asked to cancel (NEI)",
    ),
    EventType.CAP_REACHED: (CapReached, "A spending cap held a message back"),
}

_HEADERS = [
    (
        "webhook-id",
        "The event's id, the same on every retry: deduplicate on it",
        {"type": "string", "format": "uuid"},
    ),
    (
        "webhook-timestamp",
        "Unix seconds when this attempt was made; refuse one more than 5 minutes off",
        {"type": "string", "pattern": "^[0-9]+$"},
    ),
    (
        "webhook-signature",
        'Standard Webhooks: `v1,<base64 of HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.'
        "{body}\">`, keyed with the base64-decoded part of the subscription's `whsec_` "
        "secret. During a secret rotation several signatures, space-separated; accept the "
        "event if one matches.",
        {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$"},
    ),
]


def _envelope(event_type: EventType, data_schema: str) -> Schema:
    model, _ = EVENT_DATA[event_type]
    return {
        "type": "object",
        "title": f"Event {event_type.value}",
        "required": ["id", "type", "created_at", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "= webhook-id"},
            "type": {"const": event_type.value},
            "created_at": {"type": "string", "format": "date-time"},
            "data": {"$ref": f"#/components/schemas/{data_schema}"},
        },
        "examples": [
            {
                "id": _EVENT_ID,
                "type": event_type.value,
                "created_at": "2026-12-02T08:14:31Z",
                "data": model.model_json_schema()["examples"][0],
            }
        ],
    }


def _schema_name(event_type: EventType) -> str:
    return "Event" + "".join(
        part.capitalize() for part in event_type.value.replace(".", "_").split("_")
    )


def webhooks_spec() -> tuple[dict[str, Schema], dict[str, Schema]]:
    """The `webhooks` of the contract, and the component schemas they refer to."""
    schemas: dict[str, Schema] = {}
    webhooks: dict[str, Schema] = {}
    for model, _ in EVENT_DATA.values():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for event_type, (model, summary) in EVENT_DATA.items():
        name = _schema_name(event_type)
        schemas[name] = _envelope(event_type, model.__name__)
        webhooks[event_type.value] = {
            "post": {
                "operationId": "on" + name.removeprefix("Event"),
                "summary": summary,
                "tags": ["events"],
                "description": "POSTed to each subscription with this type. Any 2xx is "
                "success; network errors, 5xx and 429 are retried with back-off for 24 "
                "hours, other answers are not.",
                "parameters": [
                    {
                        "name": name_,
                        "in": "header",
                        "required": True,
                        "description": text,
                        "schema": header,
                    }
                    for name_, text, header in _HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    },
                },
                "responses": {"2XX": {"description": "Received; any 2xx will do"}},
            }
        }
    return webhooks, schemas
