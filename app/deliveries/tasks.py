"""Worker jobs applying delivery reports: the sandbox's, passed in the job, and the
providers', stored by the webhooks."""

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis

from app.core.db import session_scope
from app.core.jobs import push_jobs, take_pending_jobs
from app.deliveries.reports import APPLY_STORED_JOB, AppliedReports, apply_job, apply_stored_reports
from app.deliveries.service import DeliveryReport, apply_delivery_reports
from app.messages.models import DeliveryState
from app.metrics import observe_reports_applied

logger = logging.getLogger(__name__)

APPLY_REPORTS_JOB = "deliveries.apply_reports"
SWEEP_JOB = "deliveries.sweep"
MAX_ROUNDS_PER_JOB = 100

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
        await apply_delivery_reports(session, deserialize(rows), now=ctx["clock"].now())
    await push_jobs(ctx["redis"], take_pending_jobs(session), now=ctx["clock"].now())
    return len(rows)


async def enqueue_reports(
    redis: ArqRedis, reports: list[DeliveryReport], *, delay_seconds: float
) -> None:
    await redis.enqueue_job(APPLY_REPORTS_JOB, serialize(reports), _defer_by=delay_seconds)


async def apply_stored(ctx: dict[str, Any]) -> dict[str, int]:
    """Apply stored provider reports, batch after batch, until none is left to do now."""
    # One applier per process: SQLite takes no row locks to keep two apart.
    lock: asyncio.Lock = ctx.setdefault("apply_stored_lock", asyncio.Lock())
    total = AppliedReports()
    async with lock:
        for _ in range(MAX_ROUNDS_PER_JOB):
            async for session in session_scope(ctx["sessionmaker"]):
                batch = await apply_stored_reports(session, now=ctx["clock"].now())
            await push_jobs(ctx["redis"], take_pending_jobs(session), now=ctx["clock"].now())
            total.claimed += batch.claimed
            total.applied += batch.applied
            total.unknown_message += batch.unknown_message
            total.waiting = batch.waiting
            if batch.applied + batch.unknown_message == 0:
                break
    if total.waiting:
        # Their messages were busy in a send loop's transaction: try again in a moment.
        now = ctx["clock"].now()
        await push_jobs(ctx["redis"], [apply_job(now + timedelta(seconds=1))], now=now)
    if total.claimed:
        observe_reports_applied(total.applied, total.unknown_message)
        logger.info(
            "delivery reports applied",
            extra={
                "applied": total.applied,
                "unknown_message": total.unknown_message,
                "waiting": total.waiting,
            },
        )
    return {
        "applied": total.applied,
        "unknown_message": total.unknown_message,
        "waiting": total.waiting,
    }


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Reports whose wake-up Redis lost are applied here."""
    return await apply_stored(ctx)


__all__ = ["APPLY_REPORTS_JOB", "APPLY_STORED_JOB", "SWEEP_JOB", "apply_reports", "apply_stored"]
