"""The worker jobs that apply delivery reports, called with a fabricated context."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.deliveries import tasks
from app.deliveries.reports import apply_job
from tests.conftest import ClinicAccess
from tests.events.test_delivery import queued
from tests.events.test_subscriptions_api import subscribe
from tests.webhooks.helpers import load_message, sent_message, webhook_path


def context(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, redis: ArqRedis
) -> dict[str, Any]:
    return {"sessionmaker": sessionmaker, "clock": clock, "redis": redis}


async def test_stored_reports_are_applied_and_announced(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    redis: ArqRedis,
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    ids = [
        await sent_message(client, clinic, sessionmaker, clock, to=f"+479123456{n}")
        for n in range(3)
    ]
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    for n, message_id in enumerate(ids):
        await client.post(path, json={"refId": message_id, "id": f"r{n}", "resultCode": 1001})
    await client.post(path, json={"refId": str(uuid.uuid4()), "id": "x", "resultCode": 1001})
    ctx = context(sessionmaker, clock, redis)
    await redis.flushdb()  # the wake-ups of the sends and of the reports

    result = await tasks.apply_stored(ctx)

    assert result == {"applied": 3, "unknown_message": 1, "waiting": 0}
    for message_id in ids:
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"
    assert [function for function, _ in await queued(redis)] == ["events.deliver"]
    assert await tasks.apply_stored(ctx) == {"applied": 0, "unknown_message": 0, "waiting": 0}
    assert await tasks.sweep(ctx) == {"applied": 0, "unknown_message": 0, "waiting": 0}


def test_the_wake_up_comes_at_the_end_of_the_second() -> None:
    job = apply_job(datetime(2026, 11, 30, 10, 0, 0, 250_000, tzinfo=UTC))
    assert job.function == "deliveries.apply_stored"
    assert job.defer_until == datetime(2026, 11, 30, 10, 0, 1, tzinfo=UTC)
    assert job.job_id == f"apply-reports:{int(job.defer_until.timestamp())}"
