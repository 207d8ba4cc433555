"""Worker jobs posting events to practice systems: the wake-up and the periodic sweep."""

import logging
import random
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from app.core.db import session_scope
from app.core.jobs import push_jobs, take_pending_jobs
from app.events.delivery import DeliveryStats, claim_due, post_all, record_results
from app.events.models import DeliveryStatus, event_delivery_table
from app.events.service import DELIVER_JOB, deliver_job
from app.metrics import observe_event_deliveries

logger = logging.getLogger(__name__)

SWEEP_JOB = "events.sweep"
BATCH_SIZE = 200
MAX_BATCHES_PER_JOB = 20

JobContext = dict[str, Any]


async def deliver_batch(ctx: JobContext) -> DeliveryStats:
    """Claim one batch (committed), post it with no transaction open, record the results."""
    clock = ctx["clock"]
    async for session in session_scope(ctx["sessionmaker"]):
        claimed = await claim_due(session, now=clock.now(), limit=BATCH_SIZE)
    if not claimed:
        return DeliveryStats()
    results = await post_all(
        ctx["http"], claimed, now=clock.now(), check_target=ctx.get("check_event_target")
    )
    async for session in session_scope(ctx["sessionmaker"]):
        stats = await record_results(
            session, claimed, results, now=clock.now(), random=ctx.get("random", random.random)
        )
    observe_event_deliveries(stats.delivered, stats.retrying, stats.failed)
    await push_jobs(ctx["redis"], take_pending_jobs(session), now=clock.now())
    return stats


async def deliver(ctx: JobContext) -> dict[str, int]:
    """Post every due event, batch after batch; hand over to a fresh job when there is more."""
    total = DeliveryStats()
    for _ in range(MAX_BATCHES_PER_JOB):
        stats = await deliver_batch(ctx)
        for name, value in asdict(stats).items():
            setattr(total, name, getattr(total, name) + value)
        if stats.claimed == 0:
            break
    else:
        now = ctx["clock"].now()
        await push_jobs(ctx["redis"], [deliver_job(now)], now=now)
    if total.claimed:
        logger.info("events posted", extra=asdict(total))
    return asdict(total)


async def sweep(ctx: JobContext) -> dict[str, int]:
    """The database is the truth: wake the sender for due events whose job Redis lost."""
    now = ctx["clock"].now()
    async for session in session_scope(ctx["sessionmaker"]):
        due = await session.execute(
            select(event_delivery_table.c.id)
            .where(
                event_delivery_table.c.status == DeliveryStatus.PENDING,
                event_delivery_table.c.next_attempt_at <= now,
            )
            .limit(1)
        )
        has_due = due.first() is not None
    if has_due:
        await push_jobs(ctx["redis"], [deliver_job(now)], now=now)
    return {"due": int(has_due)}


__all__ = ["DELIVER_JOB", "SWEEP_JOB", "deliver", "deliver_batch", "sweep"]
