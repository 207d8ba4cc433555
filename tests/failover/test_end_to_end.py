"""End to end over real sockets: a local LINK stand-in takes the first messages, then goes
down; a local Sinch stand-in takes over, and its delivery reports reach our API (served
by uvicorn) and are applied. Every message reaches exactly one of them, once."""

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries import tasks as delivery_tasks
from app.messages import tasks as message_tasks
from app.messages.models import Message
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess
from tests.failover.conftest import send
from tests.support.link_server import FakeLinkServer
from tests.support.sinch_server import FakeSinchServer
from tests.test_end_to_end import api_url  # noqa: F401  (the fixture)

BATCH_SIZE = 5
TIMEOUT = 10.0


@pytest.fixture
async def worker_ctx(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    link: FakeLinkServer,
    sinch: FakeSinchServer,
    redis: ArqRedis,
) -> AsyncIterator[dict[str, object]]:
    config = settings.model_copy(
        update={
            "linkmobility_base_url": link.url,
            "sinch_base_url": sinch.url,
            "send_batch_size": BATCH_SIZE,
            "failover_failure_threshold": 3,
        }
    )

    async def no_sandbox(_reports: list[object]) -> None:
        raise AssertionError("the sandbox is not in use")

    async with httpx.AsyncClient() as http:
        yield {
            "sessionmaker": sessionmaker,
            "clock": clock,
            "settings": config,
            "redis": redis,
            "status": SimpleNamespace(worker_id="e2e-worker"),
            "providers": ProviderFactory(config, http, no_sandbox, clock.now),
        }


@pytest.fixture
def link() -> FakeLinkServer:
    return FakeLinkServer().start()


@pytest.fixture
async def sinch(api_url: str) -> AsyncIterator[FakeSinchServer]:  # noqa: F811
    server = FakeSinchServer(report_to=api_url).start()
    yield server
    await asyncio.to_thread(server.stop)


async def test_link_goes_down_sinch_takes_over_and_no_message_goes_twice(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    link: FakeLinkServer,
    sinch: FakeSinchServer,
    worker_ctx: dict[str, object],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    before = [await send(client, failover_clinic, f"+479100{i:04d}") for i in range(BATCH_SIZE)]
    assert (await message_tasks.dispatch(worker_ctx))["accepted"] == BATCH_SIZE
    assert set(link.received) == set(before)

    await asyncio.to_thread(link.stop)  # LINK goes down: connections are refused
    after = [await send(client, failover_clinic, f"+479200{i:04d}") for i in range(4 * BATCH_SIZE)]
    stats = await message_tasks.dispatch(worker_ctx)
    assert (stats["accepted"], stats["unknown"], stats["retried"]) == (4 * BATCH_SIZE, 0, 0)

    every = before + after
    assert sum(link.received.values()) + sum(sinch.received.values()) == len(every)
    assert set(link.received) | set(sinch.received) == set(every)
    assert not set(link.received) & set(sinch.received)
    assert set(sinch.received) == set(after)
    assert max((link.received | sinch.received).values()) == 1

    async with asyncio.timeout(TIMEOUT):
        while sinch.reports_posted() < len(after):  # noqa: ASYNC110 (posted from its thread)
            await asyncio.sleep(0.05)
    assert set(sinch.report_answers) == {200}
    clock.advance(seconds=2)
    assert (await delivery_tasks.apply_stored(worker_ctx))["applied"] == len(after)
    async with sessionmaker() as session:
        rows = (await session.execute(select(Message.id, Message.provider, Message.delivery))).all()
    shown = {str(message_id): (provider, delivery) for message_id, provider, delivery in rows}
    assert {shown[m] for m in before} == {("linkmobility", "accepted")}
    assert {shown[m] for m in after} == {("sinch", "delivered")}

    info = (await client.get("/v1/sms-info", headers=failover_clinic.headers)).json()
    states = {p["provider"]: p["state"] for p in info["providers"]}
    assert states == {"linkmobility": "open", "sinch": "closed"}
