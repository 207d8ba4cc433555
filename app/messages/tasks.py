"""Worker jobs for sending: the dispatch wake-up and the periodic sweep."""

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis

from app.core.config import Settings
from app.core.db import session_scope
from app.core.jobs import PendingJob, push_jobs
from app.failover.circuit import CircuitPolicy
from app.messages.dispatch import DispatchStats, dispatch_batch
from app.messages.sweep import expire_overdue, settle_abandoned_sends, upcoming_send_times
from app.messages.wakeups import DISPATCH_JOB, WAKE_UP_HORIZON, dispatch_job
from app.metrics import observe_send_outcomes

logger = logging.getLogger(__name__)

SWEEP_JOB = "messages.sweep"
# A lane stops claiming after this long and a fresh job carries on: jobs stay far from
# their timeout, which would cancel a batch between its send and its record.
LANE_TIME_BUDGET_SECONDS = 60.0
DISPATCH_TIMEOUT_SECONDS = 600

JobContext = dict[str, Any]


def circuit_policy(config: Settings) -> CircuitPolicy:
    return CircuitPolicy(
        failure_threshold=config.failover_failure_threshold,
        probe_after=timedelta(seconds=config.failover_probe_after_seconds),
    )


async def _send_lane(ctx: JobContext, total: DispatchStats) -> bool:
    """Batch after batch until nothing is due; answers whether work was left over."""
    redis: ArqRedis = ctx["redis"]

    async def push(jobs: list[PendingJob]) -> None:
        await push_jobs(redis, jobs, now=ctx["clock"].now())

    started = time.monotonic()
    while time.monotonic() - started < LANE_TIME_BUDGET_SECONDS:
        stats = await dispatch_batch(
            ctx["sessionmaker"],
            now=ctx["clock"].now,
            provider_for=ctx["providers"].build,
            secondary_for=ctx["providers"].build_secondary,
            circuit_policy=circuit_policy(ctx["settings"]),
            limit=ctx["settings"].send_batch_size,
            after_commit=push,
            worker_id=ctx["status"].worker_id,
        )
        total.add(stats)
        observe_send_outcomes(stats.accepted, stats.unknown, stats.failed, stats.retried)
        if stats.claimed == 0:
            return False
        if stats.claimed >= ctx["settings"].send_batch_size:
            # A full batch: more is due. Wake another worker to claim beside this one (a
            # wake-up already queued is not queued twice).
            now = ctx["clock"].now()
            await push([dispatch_job(now, now)])
    return True


async def dispatch(ctx: JobContext) -> dict[str, int]:
    """Send everything due. On PostgreSQL several lanes claim disjoint batches at once, so
    one lane's database work overlaps another's provider call; SQLite has one writer.

    A worker runs one dispatch at a time: a wake-up it takes while its lanes are sending
    is already covered by them (they claim until nothing is due), and more lanes in one
    process would only compete for its CPU and connections. The wake-ups pushed on every
    full batch are what bring the other workers in."""
    if ctx.get("dispatching"):
        ctx["woken_meanwhile"] = True
        return vars(DispatchStats())
    ctx |= {"dispatching": True, "woken_meanwhile": False}
    try:
        return await _dispatch(ctx)
    finally:
        ctx["dispatching"] = False
        if ctx["woken_meanwhile"]:
            # Work committed as the last lane found nothing due would wait for the sweep.
            now = ctx["clock"].now()
            await push_jobs(ctx["redis"], [dispatch_job(now, now)], now=now)


async def _dispatch(ctx: JobContext) -> dict[str, int]:
    lanes = 1 if ctx["settings"].is_sqlite else ctx["settings"].dispatch_lanes
    total = DispatchStats()
    left_over = await asyncio.gather(*(_send_lane(ctx, total) for _ in range(lanes)))
    if any(left_over):
        now = ctx["clock"].now()
        await push_jobs(ctx["redis"], [dispatch_job(now, now)], now=now)
    if total.claimed:
        logger.info("dispatched", extra=vars(total))
    return vars(total)


async def sweep(ctx: JobContext) -> dict[str, int]:
    """The database is the truth: expire what is overdue, settle abandoned sends, and wake
    the worker again for everything due soon, in case Redis lost the deferred jobs."""
    now = ctx["clock"].now()
    config = ctx["settings"]
    async for session in session_scope(ctx["sessionmaker"]):
        expired = await expire_overdue(session, now=now)
        settled = await settle_abandoned_sends(
            session,
            now=now,
            grace=timedelta(seconds=config.sending_stale_seconds),
            worker_dead_after=timedelta(seconds=config.worker_dead_after_seconds),
            longest_send=timedelta(seconds=config.longest_send_seconds),
        )
        send_times = await upcoming_send_times(session, now=now, horizon=WAKE_UP_HORIZON)
    wake_ups = list({dispatch_job(moment, now): None for moment in send_times})
    await push_jobs(ctx["redis"], wake_ups, now=now)
    if expired or settled:
        logger.info("sweep", extra={"expired": expired, "settled_unknown": settled})
    return {"expired": expired, "settled_unknown": settled, "wake_ups": len(send_times)}


__all__ = ["DISPATCH_JOB", "SWEEP_JOB", "dispatch", "sweep"]
