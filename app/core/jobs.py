"""Jobs are buffered on the session and handed to arq only after the transaction commits."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.logging import request_id

logger = logging.getLogger(__name__)

_PENDING_JOBS = "pending_jobs"
# Wake-ups queued behind a running job of the same id before the sweep is left to it.
_MOST_FOLLOW_UPS = 3


@dataclass(frozen=True, slots=True)
class PendingJob:
    function: str
    args: tuple[str, ...]
    job_id: str | None = None
    defer_until: datetime | None = None


def enqueue_after_commit(session: AsyncSession, job: PendingJob) -> None:
    session.info.setdefault(_PENDING_JOBS, []).append(job)


def take_pending_jobs(session: AsyncSession) -> list[PendingJob]:
    jobs: list[PendingJob] = session.info.pop(_PENDING_JOBS, [])
    return jobs


async def push_jobs(redis: ArqRedis | None, jobs: list[PendingJob], *, now: datetime) -> None:
    """Best effort: the database holds the work, and the sweep finds what Redis never got.

    `now` is the caller's clock. A job's start is handed to arq as a delay from it, so
    arq's own reading of the time (its score and the key's lifetime) never meets ours: a
    start long past is simply due, never a negative lifetime that Redis refuses."""
    if redis is None or not jobs:
        return
    try:
        for job in jobs:
            await _enqueue(redis, job, now)
    except Exception:
        logger.warning("could not enqueue %d job(s); the sweep will pick them up", len(jobs))


async def _enqueue(redis: ArqRedis, job: PendingJob, now: datetime) -> None:
    """arq refuses an id that is queued or running. Queued is fine: that job will find
    the work. Running is not: it may already have looked, so a follow-up goes in under a
    versioned id (`dispatch:…:v2`). The request's id rides along for the job's logs."""
    for job_id in _versions(job.job_id):
        queued = await redis.enqueue_job(
            job.function,
            *job.args,
            _job_id=job_id,
            _defer_by=_delay(job.defer_until, now),
            request_id=request_id.get(),
        )
        if queued is not None or job_id is None:
            return
        if not await redis.exists(in_progress_key_prefix + job_id):
            return


def _delay(defer_until: datetime | None, now: datetime) -> timedelta | None:
    if defer_until is None or defer_until <= now:
        return None
    return defer_until - now


def _versions(job_id: str | None) -> list[str | None]:
    if job_id is None:
        return [None]
    return [job_id, *(f"{job_id}:v{n}" for n in range(2, _MOST_FOLLOW_UPS + 2))]
