"""An arq worker that outlives Redis outages.

arq's own worker lets a Redis error escape its poll loop and exits, so one restart of
Redis stops all sending until someone restarts every worker. This one waits, with a
capped back-off, and polls again in the same process. Nothing is lost meanwhile: the
database holds every message, and the sweeps enqueue wake-ups for whatever Redis lost.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 4.0
"""Redis back is seen within this long, plus one poll: well inside the 10 s we promise."""


class Backoff:
    """Doubling waits from `first` up to `longest`; `reset` after a success."""

    def __init__(self, first: float = FIRST_RETRY_SECONDS, longest: float = LONGEST_RETRY_SECONDS):
        self._first = first
        self._longest = longest
        self._next = first

    def next_wait(self) -> float:
        wait = self._next
        self._next = min(self._next * 2, self._longest)
        return wait

    def reset(self) -> None:
        self._next = self._first


class ResilientWorker(Worker):
    """`python -m app.worker`: arq's worker, polling on through Redis outages."""

    sleep: Callable[[float], Awaitable[None]] = staticmethod(asyncio.sleep)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._backoff = Backoff()
        self._outage_started: float | None = None

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_UNAVAILABLE as exc:
            await self._wait_for_redis(exc)
            return
        if self._outage_started is not None:
            self._after_outage()

    def _after_outage(self) -> None:
        """Redis may have lost every queued job: the sweeps run at once, as at start-up,
        rather than at their next slot, and wake the sender for whatever is due."""
        outage = time.monotonic() - (self._outage_started or time.monotonic())
        logger.info("redis is back; polling again", extra={"outage_seconds": round(outage, 1)})
        self._outage_started = None
        self._backoff.reset()
        for cron_job in self.cron_jobs:
            if cron_job.run_at_startup:
                cron_job.next_run = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq takes a job slot before the Redis round trips that start a job; when one of
        them fails, the slot would be lost for good. Started one by one, the slot of the
        job that failed is known and given back."""
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except REDIS_UNAVAILABLE:
                self.job_counter -= 1
                self.sem.release()
                raise

    async def _wait_for_redis(self, exc: BaseException) -> None:
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            logger.warning("redis unavailable; the worker waits and retries: %s", exc)
        await self.sleep(self._backoff.next_wait())
