"""Waking the worker for messages due at a given time."""

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from app.core.jobs import PendingJob

DISPATCH_JOB = "messages.dispatch"
WAKE_UP_HORIZON = timedelta(minutes=10)
"""The sweep wakes the worker for every send time due within this, every
`sweep_interval_seconds` (at most 30 s): later work needs no wake-up of its own."""


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


def wake_ups(send_times: Iterable[datetime], now: datetime) -> list[PendingJob]:
    """The wake-ups for new work, one per second, in id order: only for what is due within
    the sweep's horizon. A batch of appointments has thousands of reminder times days
    ahead; each sweep that finds one within its horizon wakes the worker for it on time."""
    soon = {dispatch_job(at, now) for at in send_times if at <= now + WAKE_UP_HORIZON}
    return sorted(soon, key=lambda job: job.job_id or "")
