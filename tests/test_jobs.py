"""Wake-up jobs with real Redis: a job id that arq refuses must not lose a wake-up."""

from datetime import timedelta

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from app.core.jobs import PendingJob, push_jobs
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
