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
    await push_jobs(redis, [WAKE_UP])
    await push_jobs(redis, [WAKE_UP])
    assert await _job_ids(redis) == ["dispatch:1"]


async def test_work_committed_while_its_wake_up_runs_gets_a_follow_up(redis: ArqRedis) -> None:
    await push_jobs(redis, [WAKE_UP])
    await _start(redis, "dispatch:1")

    await push_jobs(redis, [WAKE_UP])
    await push_jobs(redis, [WAKE_UP])  # the follow-up is queued: it will see this too
    assert await _job_ids(redis) == ["dispatch:1", "dispatch:1:v2"]

    await _start(redis, "dispatch:1:v2")
    await push_jobs(redis, [WAKE_UP])
    assert await _job_ids(redis) == ["dispatch:1", "dispatch:1:v2", "dispatch:1:v3"]


async def test_follow_ups_are_bounded_and_the_sweep_does_the_rest(redis: ArqRedis) -> None:
    for _ in range(6):
        await push_jobs(redis, [WAKE_UP])
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
    await push_jobs(redis, [job, job])
    assert len(await _job_ids(redis)) == 2
