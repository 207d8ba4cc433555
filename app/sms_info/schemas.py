import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class MonthlySpend(BaseModel):
    spent: Cost = Field(
        description="This month's cost so far (the clinic's calendar): messages sent or "
        "answered, and those being handed to the provider now; what the spend cap counts"
    )
    cap: Cost | None = Field(description="`monthly_spend_cap`; null: no cap")
    remaining: Cost | None = Field(
        description="What the cap leaves this month (never below zero: exempt service "
        "messages may go past it); null without a cap"
    )


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


class ProviderError(BaseModel):
    at: datetime
    text: str


class ProviderStatus(BaseModel):
    provider: str
    role: Literal["primary", "secondary"]
    state: Literal["closed", "open", "half_open"] = Field(
        description="closed: in use; open: failed again and again, each time provably "
        "taking nothing, so the secondary takes its messages; half_open: one message "
        "probes it next"
    )
    consecutive_failures: int = Field(description="Such failures in a row")
    open_until: datetime | None = Field(description="When an open circuit lets a probe through")
    last_error: ProviderError | None = Field(description="Its newest failed answer")
    last_sent_at: datetime | None = Field(description="The last message it accepted")


class ReportCounts(BaseModel):
    awaiting_report: int = Field(description="Sent messages still waiting for a final report")
    no_report: int = Field(
        description="Settled as delivery `unknown` (reason `no_report`): no report came within "
        "the provider's window and no status lookup settled it"
    )


class SmsInfo(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sms_enabled": True,
                    "provider": "linkmobility",
                    "time_zone": "Europe/Oslo",
                    "sent": {
                        "today": {
                            "messages": 41,
                            "segments": 52,
                            "cost": {"amount": "23.40", "currency": "NOK"},
                        },
                        "this_month": {
                            "messages": 612,
                            "segments": 790,
                            "cost": {"amount": "355.50", "currency": "NOK"},
                        },
                        "total": {
                            "messages": 8120,
                            "segments": 10344,
                            "cost": {"amount": "4654.80", "currency": "NOK"},
                        },
                    },
                    "monthly_spend": {
                        "spent": {"amount": "355.50", "currency": "NOK"},
                        "cap": {"amount": "1500.00", "currency": "NOK"},
                        "remaining": {"amount": "1144.50", "currency": "NOK"},
                    },
                    "last_sent_at": "2026-12-02T08:00:04Z",
                    "last_received_at": "2026-12-02T08:14:31Z",
                    "last_error": None,
                    "last_result": None,
                    "worker": None,
                    "providers": [
                        {
                            "provider": "linkmobility",
                            "role": "primary",
                            "state": "open",
                            "consecutive_failures": 5,
                            "open_until": "2026-12-02T08:01:04Z",
                            "last_error": {
                                "at": "2026-12-02T08:00:04Z",
                                "text": "LINK Mobility: could not connect; nothing was sent "
                                "(ConnectError)",
                            },
                            "last_sent_at": "2026-12-02T07:58:10Z",
                        },
                        {
                            "provider": "sinch",
                            "role": "secondary",
                            "state": "closed",
                            "consecutive_failures": 0,
                            "open_until": None,
                            "last_error": None,
                            "last_sent_at": "2026-12-02T08:00:04Z",
                        },
                    ],
                    "reports": {"awaiting_report": 12, "no_report": 3},
                    "pause_rules": {
                        "saturday": True,
                        "sunday": True,
                        "night_start": "21:00:00",
                        "night_end": "08:00:00",
                    },
                }
            ]
        }
    )

    sms_enabled: bool
    provider: str
    time_zone: str
    sent: SentPeriods = Field(description="Messages handed to the provider (sent or answered)")
    monthly_spend: MonthlySpend = Field(description="This month's spend against the spend cap")
    last_sent_at: datetime | None = Field(description="The last message the provider accepted")
    last_received_at: datetime | None = Field(
        description="The last delivery report or reply from the provider"
    )
    last_error: LastError | None = Field(
        description="The newest failed send or undelivered report, and why"
    )
    last_result: LastResult | None = Field(description="The newest message sent or failed")
    worker: WorkerInfo | None = Field(description="From the newest worker heartbeat")
    providers: list[ProviderStatus] = Field(
        description="The clinic's provider and its secondary, if any: each one's circuit"
    )
    reports: ReportCounts
    pause_rules: PauseRules
