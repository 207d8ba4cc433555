import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.clinic_settings.schemas import PauseRules
from app.sms.schemas import Cost


class SentCounts(BaseModel):
    messages: int
    segments: int
    cost: Cost


class SentPeriods(BaseModel):
    today: SentCounts = Field(description="Since midnight in the clinic's time zone")
    this_month: SentCounts = Field(description="Since the 1st, in the clinic's time zone")
    total: SentCounts


class LastError(BaseModel):
    at: datetime
    text: str
    message_id: uuid.UUID | None


class LastResult(BaseModel):
    at: datetime
    message_id: uuid.UUID
    status: str
    status_code: Literal["V", "S", "SB", "F", "A"]
    delivery: str | None
    detail: str | None


class WorkerInfo(BaseModel):
    version: str
    host: str
    mode: str
    started_at: datetime
    last_beat_at: datetime
    sweep_interval_seconds: int
    alive: bool = Field(description="A heartbeat came within the last three intervals")


class SmsInfo(BaseModel):
    sms_enabled: bool
    provider: str
    time_zone: str
    sent: SentPeriods = Field(description="Messages handed to the provider (sent or answered)")
    last_sent_at: datetime | None = Field(description="The last message the provider accepted")
    last_received_at: datetime | None = Field(
        description="The last delivery report or reply from the provider"
    )
    last_error: LastError | None = Field(
        description="The newest failed send or undelivered report, and why"
    )
    last_result: LastResult | None = Field(description="The newest message sent or failed")
    worker: WorkerInfo | None = Field(description="From the newest worker heartbeat")
    pause_rules: PauseRules
