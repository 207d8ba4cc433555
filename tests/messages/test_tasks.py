"""The worker's jobs with real Redis: wake-ups survive a flush, and dispatch sends."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries.service import DeliveryReport
from app.events.models import EventDelivery
from app.messages import tasks
from app.messages.models import Message
from app.messages.wakeups import WAKE_UP_HORIZON, dispatch_job
from tests.conftest import ClinicAccess


async def _queue(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> None:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": "Hei"} | body
    )
    assert response.status_code == 201, response.text


async def _job_ids(redis: ArqRedis) -> set[str]:
    return {job.job_id for job in await redis.queued_jobs()}


async def test_sweep_wakes_the_worker_again_after_redis_lost_its_jobs(
    client: httpx.AsyncClient, clinic: ClinicAccess, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    now = ctx["clock"].now()
    soon = now + timedelta(minutes=3)
    await _queue(client, clinic)
    await _queue(client, clinic, send_after=soon.isoformat())
    await _queue(client, clinic, send_after=(now + timedelta(hours=2)).isoformat())
    expected = {f"dispatch:now:{int(now.timestamp())}", f"dispatch:{int(soon.timestamp())}"}
    assert expected <= await _job_ids(redis), "wake-ups are queued after the commit"

    await redis.flushdb()
    result = await tasks.sweep(ctx)
    assert result["wake_ups"] == 2
    assert await _job_ids(redis) == expected


async def test_work_days_ahead_is_woken_for_by_the_sweep_and_sent_at_its_time(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    ctx: dict[str, Any],
    redis: ArqRedis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock: FixedClock = ctx["clock"]
    due = clock.now().replace(microsecond=0) + timedelta(days=3)
    await _queue(client, clinic, send_after=due.isoformat())
    assert f"dispatch:{int(due.timestamp())}" not in await _job_ids(redis), "none of its own"

    # The first sweep after it comes within the horizon runs at most one interval later.
    longest_interval = Settings.model_fields["sweep_interval_seconds"].metadata[1].le
    clock.set(due - WAKE_UP_HORIZON + timedelta(seconds=longest_interval))
    assert (await tasks.dispatch(ctx))["claimed"] == 0, "not due yet"
    await tasks.sweep(ctx)
    (job,) = await redis.queued_jobs()
    assert job.job_id == f"dispatch:{int(due.timestamp())}"
    # Deferred by the time left (arq counts from its own clock).
    deferred_by = job.score / 1000 - time.time()
    assert abs(deferred_by - (due - clock.now()).total_seconds()) < 5

    clock.set(due)
    assert (await tasks.dispatch(ctx))["accepted"] == 1
    async with sessionmaker() as session:
        message = (await session.execute(select(Message))).scalars().one()
    assert (message.status, message.sent_at) == ("sent", due)


def test_wake_ups_for_later_work_run_when_all_of_its_second_is_due() -> None:
    now = datetime(2026, 11, 30, 10, 0, 0, 400_000, tzinfo=UTC)
    at_once = dispatch_job(now - timedelta(minutes=5), now)
    assert (at_once.job_id, at_once.defer_until) == (f"dispatch:now:{int(now.timestamp())}", None)
    assert dispatch_job(now, now) == at_once

    retry = dispatch_job(now + timedelta(seconds=30), now)  # due at 10:00:30.4
    due_by = datetime(2026, 11, 30, 10, 0, 31, tzinfo=UTC)
    assert (retry.job_id, retry.defer_until) == (f"dispatch:{int(due_by.timestamp())}", due_by)
    on_the_second = dispatch_job(due_by, now)
    assert on_the_second == retry


async def test_dispatch_sends_everything_due_with_the_clinics_provider(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    ctx: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    reports: list[DeliveryReport],
) -> None:
    for _ in range(3):
        await _queue(client, clinic)
    result = await tasks.dispatch(ctx)
    assert (result["claimed"], result["accepted"]) == (3, 3)
    async with sessionmaker() as session:
        messages = (await session.execute(select(Message))).scalars().all()
    assert {(m.status, m.provider) for m in messages} == {("sent", "sandbox")}
    assert len(reports) == 3


async def test_a_full_batch_wakes_another_worker_to_claim_beside(
    client: httpx.AsyncClient, clinic: ClinicAccess, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    for _ in range(3):
        await _queue(client, clinic)
    await redis.flushdb()
    ctx["settings"] = ctx["settings"].model_copy(update={"send_batch_size": 2})
    result = await tasks.dispatch(ctx)
    assert result["claimed"] == 3
    now = int(ctx["clock"].now().timestamp())
    assert await _job_ids(redis) == {f"dispatch:now:{now}"}


async def test_a_worker_runs_one_dispatch_at_a_time_and_looks_again_after(
    client: httpx.AsyncClient, clinic: ClinicAccess, ctx: dict[str, Any], redis: ArqRedis
) -> None:
    for _ in range(3):
        await _queue(client, clinic)
    await redis.flushdb()
    first, second = await asyncio.gather(tasks.dispatch(ctx), tasks.dispatch(ctx))
    assert (first["claimed"], second["claimed"]) == (3, 0)
    # Taken while the lanes were sending: looked at again once they are done.
    now = int(ctx["clock"].now().timestamp())
    assert await _job_ids(redis) == {f"dispatch:now:{now}"}
    await redis.flushdb()
    assert (await tasks.dispatch(ctx))["claimed"] == 0
    assert await _job_ids(redis) == set(), "an idle worker queues nothing"


async def test_sweep_expires_overdue_messages(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    ctx: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock: FixedClock = ctx["clock"]
    await client.post(
        "/v1/event-subscriptions",
        headers=clinic.headers,
        json={"url": "http://127.0.0.1:9/pms", "event_types": ["message.status_changed"]},
    )
    await _queue(client, clinic, expires_at=(clock.now() + timedelta(minutes=1)).isoformat())
    clock.advance(minutes=2)
    assert (await tasks.sweep(ctx))["expired"] == 1
    async with sessionmaker() as session:
        message = (await session.execute(select(Message))).scalars().one()
        events = (await session.execute(select(EventDelivery))).scalars().all()
    assert (message.status, message.failure_reason) == ("failed", "expired")
    assert [event.event_type for event in events] == ["message.status_changed"]
