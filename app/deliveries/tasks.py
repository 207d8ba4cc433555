"""Worker job applying delivery reports (the sandbox's; providers' webhooks use it too)."""

import uuid
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis

from app.core.db import session_scope
from app.deliveries.service import DeliveryReport, apply_delivery_reports
from app.messages.models import DeliveryState

APPLY_REPORTS_JOB = "deliveries.apply_reports"

SerializedReport = tuple[str, str, str]


def serialize(reports: list[DeliveryReport]) -> list[SerializedReport]:
    return [(str(r.message_id), r.state.value, r.occurred_at.isoformat()) for r in reports]


def deserialize(rows: list[SerializedReport]) -> list[DeliveryReport]:
    return [
        DeliveryReport(uuid.UUID(message_id), DeliveryState(state), datetime.fromisoformat(at))
        for message_id, state, at in rows
    ]


async def apply_reports(ctx: dict[str, Any], rows: list[SerializedReport]) -> int:
    async for session in session_scope(ctx["sessionmaker"]):
        await apply_delivery_reports(session, deserialize(rows))
    return len(rows)


async def enqueue_reports(
    redis: ArqRedis, reports: list[DeliveryReport], *, delay_seconds: float
) -> None:
    await redis.enqueue_job(APPLY_REPORTS_JOB, serialize(reports), _defer_by=delay_seconds)
