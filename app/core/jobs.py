"""Jobs are buffered on the session and handed to arq only after the transaction commits."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms
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

    All the jobs go in one script call (one round trip, where arq's `enqueue_job` takes
    three a job), written as arq writes them so its worker reads them the same.

    `now` is the caller's clock. A job's start is handed to arq as a delay from it, so
    arq's own reading of the time (its score and the key's lifetime) never meets ours: a
    start long past is simply due, never a negative lifetime that Redis refuses."""
    if redis is None or not jobs:
        return
    try:
        arguments: list[bytes | int | str] = [job_key_prefix, result_key_prefix]
        arguments += [in_progress_key_prefix, redis.default_queue_name]
        enqueued_at = timestamp_ms()
        for job in jobs:
            arguments += _job_arguments(redis, job, now, enqueued_at)
        await redis.register_script(_ENQUEUE)(args=arguments)
    except Exception:
        logger.warning("could not enqueue %d job(s); the sweep will pick them up", len(jobs))


# arq's `enqueue_job` for each job in turn: an id whose job is queued, or whose result is
# kept, is refused. A refusal is fine when that job has not started: it will find the
# work. A started one may already have looked, so a follow-up goes in under the next
# versioned id (`dispatch:…:v2`). Atomic, like arq's WATCH/MULTI.
_ENQUEUE = """
local job_prefix, result_prefix, running_prefix, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at = 5
while at <= #ARGV do
  local payload, lifetime, score = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local last = at + 3 + tonumber(ARGV[at + 3])
  for next_id = at + 4, last do
    local id = ARGV[next_id]
    if redis.call('EXISTS', job_prefix .. id, result_prefix .. id) == 0 then
      redis.call('PSETEX', job_prefix .. id, lifetime, payload)
      redis.call('ZADD', queue, score, id)
      break
    end
    if redis.call('EXISTS', running_prefix .. id) == 0 then
      break
    end
  end
  at = last + 1
end
"""


def _job_arguments(
    redis: ArqRedis, job: PendingJob, now: datetime, enqueued_at: int
) -> list[bytes | int | str]:
    """The payload, key lifetime, score and ids to try, as `enqueue_job` would compute
    them; the request's id rides along for the job's logs."""
    delay = to_ms(_delay(job.defer_until, now))
    score = enqueued_at + delay if delay else enqueued_at
    lifetime = score - enqueued_at + redis.expires_extra_ms
    kwargs = {"request_id": request_id.get()}
    payload = serialize_job(
        job.function, job.args, kwargs, None, enqueued_at, serializer=redis.job_serializer
    )
    ids = _versions(job.job_id)
    return [payload, lifetime, score, len(ids), *ids]


def _delay(defer_until: datetime | None, now: datetime) -> timedelta | None:
    if defer_until is None or defer_until <= now:
        return None
    return defer_until - now


def _versions(job_id: str | None) -> list[str]:
    if job_id is None:
        return [uuid4().hex]
    return [job_id, *(f"{job_id}:v{n}" for n in range(2, _MOST_FOLLOW_UPS + 2))]
