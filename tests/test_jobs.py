"""Wake-up jobs with real Redis: a job id that arq refuses must not lose a wake-up."""

from datetime import timedelta
from typing import Any

import pytest
from arq import Worker, func
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix

from app.core.jobs import PendingJob, push_jobs
from app.core.logging import request_id
from app.worker.settings import with_request_id
from tests.conftest import START_TIME

WAKE_UP = PendingJob("messages.dispatch", (), job_id="dispatch:1", defer_until=START_TIME)


async def _job_ids(redis: ArqRedis) -> list[str]:
    return sorted(job.job_id for job in await redis.queued_jobs())


async def _start(redis: ArqRedis, job_id: str) -> None:
    """What arq does when a worker takes the job."""
    await redis.set(in_progress_key_prefix + job_id, b"1", px=60_000)


async def test_a_queued_wake_up_serves_later_work_of_the_same_second(redis: ArqRedis) -> None:
    await push_jobs(redis, [WAKE_UP], now=START_TIME)
    await push_jobs(redis, [WAKE_UP], now=START_TIME)
    assert await _job_ids(redis) == ["dispatch:1"]


async def test_work_committed_while_its_wake_up_runs_gets_a_follow_up(redis: ArqRedis) -> None:
    await push_jobs(redis, [WAKE_UP], now=START_TIME)
    await _start(redis, "dispatch:1")

    await push_jobs(redis, [WAKE_UP], now=START_TIME)
    # The follow-up is queued: it will see this too.
    await push_jobs(redis, [WAKE_UP], now=START_TIME)
    assert await _job_ids(redis) == ["dispatch:1", "dispatch:1:v2"]

    await _start(redis, "dispatch:1:v2")
    await push_jobs(redis, [WAKE_UP], now=START_TIME)
    assert await _job_ids(redis) == ["dispatch:1", "dispatch:1:v2", "dispatch:1:v3"]


async def test_follow_ups_are_bounded_and_the_sweep_does_the_rest(redis: ArqRedis) -> None:
    for _ in range(6):
        await push_jobs(redis, [WAKE_UP], now=START_TIME)
        for job_id in await _job_ids(redis):
            await _start(redis, job_id)
    assert await _job_ids(redis) == [
        "dispatch:1",
        "dispatch:1:v2",
        "dispatch:1:v3",
        "dispatch:1:v4",
    ]


async def test_jobs_without_an_id_are_never_refused(redis: ArqRedis) -> None:
    job = PendingJob("events.deliver", (), defer_until=START_TIME + timedelta(seconds=1))
    await push_jobs(redis, [job, job], now=START_TIME)
    assert len(await _job_ids(redis)) == 2


async def test_a_start_long_past_on_our_clock_is_due_at_once(redis: ArqRedis) -> None:
    """arq reads the real clock; a start days behind it must not become a negative key
    lifetime that Redis refuses."""
    overdue = PendingJob("messages.dispatch", (), job_id="dispatch:old", defer_until=START_TIME)
    await push_jobs(redis, [overdue], now=START_TIME + timedelta(days=400))
    [job] = await redis.queued_jobs()
    assert job.job_id == "dispatch:old"
    assert job.score is not None
    assert job.enqueue_time is not None
    assert job.score == round(job.enqueue_time.timestamp() * 1000)


async def test_a_future_start_is_a_delay_from_our_clock(redis: ArqRedis) -> None:
    later = PendingJob("events.deliver", (), defer_until=START_TIME + timedelta(minutes=5))
    await push_jobs(redis, [later], now=START_TIME)
    [job] = await redis.queued_jobs()
    assert job.score is not None
    assert job.enqueue_time is not None
    assert job.score - round(job.enqueue_time.timestamp() * 1000) == 300_000


async def test_an_arq_worker_runs_a_job_pushed_here_with_its_request_id(redis: ArqRedis) -> None:
    ran: list[tuple[tuple[str, ...], str | None]] = []

    async def record(ctx: dict[str, Any], *args: str) -> None:
        ran.append((args, request_id.get()))

    job = PendingJob("test.record", ("a", "b"), job_id="record:1")
    token = request_id.set("req-1")
    try:
        await push_jobs(redis, [job], now=START_TIME)
    finally:
        request_id.reset(token)
    worker = Worker(
        [func(with_request_id(record), name="test.record")],
        redis_pool=redis,
        burst=True,
        handle_signals=False,
        poll_delay=0,
    )
    await worker.main()
    assert ran == [(("a", "b"), "req-1")]
    assert worker.jobs_complete == 1


async def test_a_job_is_written_as_arq_writes_it(redis: ArqRedis) -> None:
    """Same payload, score and key lifetime as arq's own `enqueue_job`, and each sees the
    other's job id as taken."""
    defer = timedelta(minutes=5)
    await redis.enqueue_job("test.f", "x", _job_id="arq", _defer_by=defer, request_id=None)
    later = PendingJob("test.f", ("x",), job_id="ours", defer_until=START_TIME + defer)
    await push_jobs(redis, [later], now=START_TIME)
    jobs = {job.job_id: job for job in await redis.queued_jobs()}
    arq_job, our_job = jobs["arq"], jobs["ours"]
    assert (our_job.function, our_job.args, our_job.kwargs, our_job.job_try) == (
        arq_job.function,
        arq_job.args,
        arq_job.kwargs,
        arq_job.job_try,
    )
    for job in (arq_job, our_job):
        assert job.score is not None
        assert job.enqueue_time is not None
        assert job.score - round(job.enqueue_time.timestamp() * 1000) == 300_000
    lifetimes = [await redis.pttl(job_key_prefix + job_id) for job_id in ("arq", "ours")]
    assert abs(lifetimes[0] - lifetimes[1]) < 5_000

    assert await redis.enqueue_job("test.f", _job_id="ours") is None
    await push_jobs(redis, [PendingJob("test.f", (), job_id="arq")], now=START_TIME)
    assert sorted(jobs) == sorted(job.job_id for job in await redis.queued_jobs())


async def test_the_jobs_of_a_push_go_in_one_round_trip(
    redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = redis.execute_command

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return await real(*args, **kwargs)

    await push_jobs(redis, [WAKE_UP], now=START_TIME)  # the script is loaded
    monkeypatch.setattr(redis, "execute_command", counted)
    later = PendingJob("events.deliver", (), defer_until=START_TIME + timedelta(seconds=1))
    await push_jobs(redis, [WAKE_UP, later, later], now=START_TIME)
    assert calls == ["EVALSHA"]
    assert len(await _job_ids(redis)) == 3
