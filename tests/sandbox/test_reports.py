"""The sandbox's delivery reports live in the database, due at their time: applied by the
stored-report applier, and by the sweep when Redis never got the wake-up job."""

from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.deliveries import tasks
from app.deliveries.service import DeliveryReport
from app.deliveries.simulated import store_simulated_reports
from app.events.models import EventDelivery
from app.providers.sandbox import (
    NO_REPORT_NUMBER,
    SLOW_DELIVERY_NUMBER,
    UNDELIVERED_DETAIL,
    UNDELIVERED_NUMBER,
    SandboxProvider,
)
from tests.conftest import ClinicAccess
from tests.events.test_delivery import queued
from tests.events.test_subscriptions_api import subscribe
from tests.support.dispatch import dispatch_once
from tests.webhooks.helpers import create_message, load_message

SLOW = timedelta(minutes=90)
APPLIER = "deliveries.apply_stored"


def sandbox(engine: AsyncEngine, clock: FixedClock, redis: Any) -> SandboxProvider:
    async def sink(reports: list[DeliveryReport]) -> None:
        await store_simulated_reports(engine, redis, reports, now=clock.now())

    return SandboxProvider(sink, clock.now, SLOW)


async def test_reports_whose_wake_up_never_reached_redis_are_applied_by_the_sweep(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    redis: ArqRedis,
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    numbers = {
        "ok": "+4791234567",
        "undelivered": UNDELIVERED_NUMBER,
        "slow": SLOW_DELIVERY_NUMBER,
        "none": NO_REPORT_NUMBER,
    }
    ids = {name: await create_message(client, clinic, to=to) for name, to in numbers.items()}
    # No Redis at all: every wake-up job is lost.
    await dispatch_once(sessionmaker, clock, sandbox(engine, clock, redis=None))
    ctx = {"sessionmaker": sessionmaker, "clock": clock, "redis": redis}

    assert (await tasks.sweep(ctx))["applied"] == 0  # not due yet
    assert (await load_message(sessionmaker, ids["ok"])).delivery == "accepted"

    clock.advance(seconds=2)
    assert (await tasks.sweep(ctx))["applied"] == 2
    ok = await load_message(sessionmaker, ids["ok"])
    assert (ok.delivery, ok.delivered_at) == ("delivered", clock.now())
    undelivered = await load_message(sessionmaker, ids["undelivered"])
    assert (undelivered.delivery, undelivered.failure_detail) == (
        "undelivered",
        UNDELIVERED_DETAIL,
    )
    assert (await load_message(sessionmaker, ids["slow"])).delivery == "accepted"

    clock.advance(seconds=SLOW.total_seconds() - 3)
    assert (await tasks.sweep(ctx))["applied"] == 0
    clock.advance(seconds=1)
    assert (await tasks.sweep(ctx))["applied"] == 1
    assert (await load_message(sessionmaker, ids["slow"])).delivery == "delivered"
    assert (await load_message(sessionmaker, ids["none"])).delivery == "accepted"
    async with sessionmaker() as session:
        events = list((await session.execute(select(EventDelivery))).scalars())
    assert sorted(e.data["delivery"] for e in events).count("delivered") == 2


async def test_the_applier_is_woken_for_the_second_a_report_falls_due(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    redis: ArqRedis,
) -> None:
    await create_message(client, clinic, to="+4791234567")
    await create_message(client, clinic, to=SLOW_DELIVERY_NUMBER)

    await dispatch_once(sessionmaker, clock, sandbox(engine, clock, redis))

    now = int(clock.now().timestamp())
    due = [now + 2, now + int(SLOW.total_seconds())]
    appliers = [job_id for function, job_id in await queued(redis) if function == APPLIER]
    assert appliers == [f"apply-reports:{second + 1}" for second in due]
