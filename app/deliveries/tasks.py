"""Worker jobs applying the stored delivery reports: the providers', stored by the
webhooks, and the sandbox's (`app.deliveries.simulated`)."""

import asyncio
import logging
from datetime import timedelta
from typing import Any

from app.core.db import session_scope
from app.core.jobs import push_jobs, take_pending_jobs
from app.deliveries.reports import APPLY_STORED_JOB, AppliedReports, apply_job, apply_stored_reports
from app.metrics import observe_reports_applied

logger = logging.getLogger(__name__)

SWEEP_JOB = "deliveries.sweep"
MAX_ROUNDS_PER_JOB = 100


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


__all__ = ["APPLY_STORED_JOB", "SWEEP_JOB", "apply_stored"]
