from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.messages.schemas import PENDING_EXAMPLE, MessagePublic
from app.sms.schemas import Cost

_COST: JsonDict = {"amount": "0.90", "currency": "NOK"}
_GENERAL: JsonDict = {"type": "general", "messages": 2, "segments": 2, "cost": _COST}
_DAY: JsonDict = {
    "day": "2026-12-03",
    "messages": 2,
    "segments": 2,
    "cost": _COST,
    "by_type": [_GENERAL],
}


class TypeFigures(BaseModel):
    type: str
    messages: int
    segments: int
    cost: Cost


class DayFigures(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DAY]})

    day: date = Field(description="A day on the clinic's own calendar (its time zone)")
    messages: int
    segments: int
    cost: Cost
    by_type: list[TypeFigures] = Field(description="Per message type, by type name")


class OutboxTotals(BaseModel):
    messages: int
    segments: int
    cost: Cost
    by_type: list[TypeFigures]


class OutboxItem(BaseModel):
    sends_at: datetime = Field(
        description="When the worker will really send it: its `scheduled_for`, moved to the "
        "end of a pause the clinic is in then (the worker's own send-window rule), or now "
        "when it is overdue"
    )
    day: date = Field(description="The clinic's local day of `sends_at`")
    message: MessagePublic


class Outbox(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-12-03",
                    "to": "2026-12-03",
                    "time_zone": "Europe/Oslo",
                    "sms_enabled": True,
                    "days": [_DAY],
                    "totals": {
                        "messages": 2,
                        "segments": 2,
                        "cost": _COST,
                        "by_type": [_GENERAL],
                    },
                    "data": [
                        {
                            "sends_at": "2026-12-03T07:00:00Z",
                            "day": "2026-12-03",
                            "message": PENDING_EXAMPLE,
                        }
                    ],
                    "next_cursor": "WyIyMDI2LTEyLTAzVDA3OjAwOjAwKzAwOjAwIiwgIjAxOTNhMWIwLTFjMmQt"
                    "N2UzZi04YTRiLTVjNmQ3ZThmOWEwYiJd",
                }
            ]
        },
    )

    from_: date = Field(alias="from", description="The first day asked for")
    to: date = Field(description="The last day asked for (inclusive)")
    time_zone: str = Field(description="The clinic's time zone, which makes the days")
    sms_enabled: bool = Field(
        description="false: SMS is switched off for the clinic, so nothing listed goes until "
        "it is switched on again"
    )
    days: list[DayFigures] = Field(description="Every day of the period, in order")
    totals: OutboxTotals
    data: list[OutboxItem] = Field(
        description="The messages, in the order they go; each page continues the last"
    )
    next_cursor: str | None
