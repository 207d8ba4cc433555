"""The worker polls on through Redis errors (issue 13); the real outage is in
tests/test_redis_outage.py."""

from typing import Any

import pytest
from arq import cron
from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.worker.resilient import LONGEST_RETRY_SECONDS, Backoff, ResilientWorker


async def _noop(ctx: dict[str, Any]) -> None:
    return None


def _worker(redis: ArqRedis, waits: list[float]) -> ResilientWorker:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    worker = ResilientWorker(
        functions=[],
        cron_jobs=[cron(_noop, name="sweep", second={0}, run_at_startup=True)],
        redis_pool=redis,
        handle_signals=False,
        poll_delay=0,
    )
    worker.sleep = sleep  # type: ignore[method-assign]
    return worker


def test_backoff_doubles_to_its_cap_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(first=0.5, longest=4.0)
    assert [backoff.next_wait() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_wait() == 0.5


def test_the_longest_wait_leaves_room_to_resume_within_ten_seconds() -> None:
    assert LONGEST_RETRY_SECONDS <= 5


async def test_a_redis_error_in_a_poll_waits_and_the_next_poll_runs_the_sweeps_again(
    redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    worker = _worker(redis, waits)
    await worker._poll_iteration()  # the start-up sweep
    [sweep] = worker.cron_jobs
    assert sweep.next_run is not None

    real_zrangebyscore = redis.zrangebyscore
    failures = 3

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal failures
        if failures:
            failures -= 1
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379.")
        return await real_zrangebyscore(*args, **kwargs)

    monkeypatch.setattr(redis, "zrangebyscore", flaky)
    for _ in range(4):
        await worker._poll_iteration()
    assert waits == [0.5, 1.0, 2.0]
    assert sweep.next_run is None, "the sweeps run at once after an outage"

    await worker._poll_iteration()
    assert sweep.next_run is not None


async def test_a_job_slot_taken_before_a_redis_error_is_given_back(
    redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = _worker(redis, [])
    free_slots = worker.sem._value

    def broken_pipeline(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(redis, "pipeline", broken_pipeline)
    with pytest.raises(RedisConnectionError):
        await worker.start_jobs([b"job-1", b"job-2"])
    assert worker.sem._value == free_slots
    assert worker.job_counter == 0
