"""Jobs are buffered on the session and handed to arq only after the transaction commits."""

import logging
from dataclasses import dataclass
from datetime import datetime

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

_PENDING_JOBS = "pending_jobs"


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


async def push_jobs(redis: ArqRedis | None, jobs: list[PendingJob]) -> None:
    """Best effort: the database holds the work, and the sweep finds what Redis never got."""
    if redis is None or not jobs:
        return
    try:
        for job in jobs:
            await redis.enqueue_job(
                job.function, *job.args, _job_id=job.job_id, _defer_until=job.defer_until
            )
    except Exception:
        logger.warning("could not enqueue %d job(s); the sweep will pick them up", len(jobs))
