"""A job queued to run now starts within a fraction of a second: the worker polls Redis
often (`WorkerSettings.poll_delay`), so a wake-up does not wait out arq's default 0.5 s."""

import asyncio
import contextlib
import time
from typing import Any

from arq import func
from arq.connections import ArqRedis

from app.worker.resilient import ResilientWorker
from app.worker.settings import WorkerSettings

# Jobs queued at moments spread over more than arq's default poll interval: one of them
# lands just after a poll and waits nearly a whole interval.
JOBS = 6
SPACING_SECONDS = 0.11
WITHIN_SECONDS = 0.2


async def test_a_job_queued_to_run_now_starts_within_a_fifth_of_a_second(
    redis: ArqRedis,
) -> None:
    started: dict[int, float] = {}

    async def note(_ctx: dict[str, Any], number: int) -> None:
        started[number] = time.perf_counter()

    worker = ResilientWorker(
        functions=[func(note, name="note")],
        redis_pool=redis,
        handle_signals=False,
        poll_delay=WorkerSettings.poll_delay,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        await asyncio.sleep(0.2)  # the worker is polling an empty queue
        queued = {}
        for number in range(JOBS):
            queued[number] = time.perf_counter()
            await redis.enqueue_job("note", number)
            await asyncio.sleep(SPACING_SECONDS)
        await asyncio.sleep(WITHIN_SECONDS)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    waits = [started[number] - queued[number] for number in range(JOBS)]
    assert max(waits) < WITHIN_SECONDS, waits
