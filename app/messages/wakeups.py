"""Waking the worker for messages due at a given time."""

import math
from datetime import UTC, datetime

from app.core.jobs import PendingJob

DISPATCH_JOB = "messages.dispatch"


def dispatch_job(send_at: datetime, now: datetime) -> PendingJob:
    """A wake-up for work due at `send_at`; the job sends everything due, in batches.

    Work due already wakes the worker at once. Later work wakes it at the end of its
    second: one job per second, and every message that shares the job's id is due by
    the time it runs (at the start of the second, one due at .7 would wait for the sweep).
    """
    if send_at <= now:
        return PendingJob(DISPATCH_JOB, (), job_id=f"dispatch:now:{int(now.timestamp())}")
    second = math.ceil(send_at.timestamp())
    at = datetime.fromtimestamp(second, UTC)
    return PendingJob(DISPATCH_JOB, (), job_id=f"dispatch:{second}", defer_until=at)
