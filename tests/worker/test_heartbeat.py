import asyncio
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import __version__
from app.core.clock import FixedClock
from app.core.config import Settings
from app.events.targets import check_public_target
from app.worker.__main__ import check_local_worker
from app.worker.models import WorkerStatus
from app.worker.settings import WorkerSettings, heartbeat, shutdown, startup
from tests.support.workers import record_beat


async def _statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> list[WorkerStatus]:
    async with sessionmaker() as session:
        return list((await session.execute(select(WorkerStatus))).scalars())


async def test_heartbeat_records_the_worker_status(
    settings: Settings, clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ctx: dict[str, object] = {"settings": settings, "clock": clock}
    await startup(ctx)
    try:
        [status] = await _statuses(sessionmaker)
        assert status.version == __version__
        assert status.started_at == clock.now()
        assert status.last_beat_at == clock.now()
        assert status.sweep_interval_seconds == settings.sweep_interval_seconds

        clock.advance(seconds=15)
        await heartbeat(ctx)
        [status] = await _statuses(sessionmaker)
        assert status.last_beat_at == clock.now()
        assert status.started_at < status.last_beat_at
    finally:
        await shutdown(ctx)


def test_worker_settings_are_importable_for_arq() -> None:
    names = [job.name for job in WorkerSettings.cron_jobs]
    # Cron jobs are queued for any worker: a heartbeat there may be run by another one.
    assert "worker.heartbeat" not in names
    assert WorkerSettings.health_check_interval <= 60


async def test_each_worker_beats_from_its_own_task_however_busy_its_job_slots(
    settings: Settings, clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    interval = settings.heartbeat_interval_seconds
    ticks: asyncio.Queue[None] = asyncio.Queue()
    asleep: asyncio.Queue[float] = asyncio.Queue()

    async def sleep(seconds: float) -> None:
        asleep.put_nowait(seconds)
        await ticks.get()

    ctx: dict[str, object] = {"settings": settings, "clock": clock, "sleep": sleep}
    await startup(ctx)
    try:
        assert await asyncio.wait_for(asleep.get(), timeout=10) == interval
        for _ in range(2):
            clock.advance(seconds=interval)
            ticks.put_nowait(None)
            assert await asyncio.wait_for(asleep.get(), timeout=10) == interval
            [status] = await _statuses(sessionmaker)
            assert status.last_beat_at == clock.now()
    finally:
        await shutdown(ctx)
    task = ctx["heartbeat_task"]
    assert isinstance(task, asyncio.Task)
    assert task.done()


async def test_a_worker_that_forbids_private_event_urls_checks_each_target(
    settings: Settings, clock: FixedClock
) -> None:
    allowing: dict[str, object] = {"settings": settings, "clock": clock}
    forbidding: dict[str, object] = {
        "settings": settings.model_copy(update={"private_event_urls": False}),
        "clock": clock,
    }
    for ctx in (allowing, forbidding):
        await startup(ctx)
        await shutdown(ctx)
    assert allowing["check_event_target"] is None
    assert forbidding["check_event_target"] is check_public_target


async def test_a_start_up_that_failed_half_way_shuts_down_cleanly(
    settings: Settings, clock: FixedClock
) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"}
    )
    ctx: dict[str, object] = {"settings": unreachable, "clock": clock}
    with pytest.raises(ConnectionRefusedError):
        await startup(ctx)
    await shutdown(ctx)
    http = ctx["http"]
    assert isinstance(http, httpx.AsyncClient)
    assert http.is_closed


async def test_the_container_check_reads_this_hosts_newest_heartbeat(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`python -m app.worker check`, the compose health check, runs on the real clock."""
    assert await check_local_worker(settings) == 1
    now = datetime.now(UTC)
    beats = {
        socket.gethostname(): now - timedelta(seconds=settings.worker_dead_after_seconds + 30),
        "another-host": now,
    }
    for host, beat in beats.items():
        await record_beat(sessionmaker, host=host, at=beat)
    assert await check_local_worker(settings) == 1, "another host's worker does not count"
    async with sessionmaker() as session, session.begin():
        status = await session.get(WorkerStatus, f"{socket.gethostname()}:1")
        assert status is not None
        status.last_beat_at = now
    assert await check_local_worker(settings) == 0
    assert "newest heartbeat on this host: 0 s ago" in capsys.readouterr().out
