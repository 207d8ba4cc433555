"""What the sending benchmarks share: a LINK clinic, queued messages, the stand-in's
counts, a bare one-request-per-message sender, and a figure's median and spread."""

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
from arq import create_pool
from arq.connections import RedisSettings
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clinic_settings.models import ClinicSettings
from app.core.db import create_engine
from app.core.jobs import push_jobs
from app.main import create_app
from app.messages.models import Message, MessageStatus, message_table
from app.messages.wakeups import dispatch_job
from app.providers.base import OutboundSms, SenderKind
from app.providers.linkmobility import message_fields
from bench.common import REDIS_URL, bench_settings, cpu_seconds

LINK_CREDENTIALS = {
    "username": "bench",
    "password": "bench-password",
    "platform_id": "SMS",
    "platform_partner_id": "1234",
    "gate_id": "bench-gate",
}
BARE_LOOP_CONCURRENCY = 32
# The stand-in's own capacity for batches: prebuilt bodies of this many, this many in flight.
CAPACITY_BATCH = 1000
CAPACITY_IN_FLIGHT = 4

Sent = tuple[uuid.UUID, str, str]
_message = message_table.c


def spread(values: Sequence[float], unit: str = "", digits: int = 0) -> str:
    """`median 4,700/s (min 4,500, max 4,900; 3 runs)`."""
    return (
        f"median {statistics.median(values):,.{digits}f}{unit} (min {min(values):,.{digits}f}, "
        f"max {max(values):,.{digits}f}; {len(values)} runs)"
    )


async def scalar(statement: Any) -> Any:
    engine = create_engine(bench_settings())
    try:
        async with engine.connect() as connection:
            return (await connection.execute(statement)).scalar_one()
    finally:
        await engine.dispose()


async def sent_count() -> int:
    return int(await scalar(select(func.count()).where(Message.status == "sent")))  # type: ignore[arg-type]


def _first(status: MessageStatus, order: Any) -> Any:
    return select(_message.id).where(_message.status == status).order_by(order).limit(1)


# One lookup in each small partial index (ix_message_due, ix_message_sending).
_ANY_UNSENT = select(
    _first(MessageStatus.PENDING, _message.next_attempt_at).scalar_subquery().is_not(None)
    | _first(MessageStatus.SENDING, _message.claimed_at).scalar_subquery().is_not(None)
)


@dataclass
class Poll:
    """Polled every few milliseconds while a worker sends: over one connection, and from
    the partial indexes. A new connection and a count of the sent rows (a scan of the
    whole table) each time would load the database the worker is measured on, where the
    bare loop runs unpolled."""

    connection: AsyncConnection

    async def all_sent(self) -> bool:
        """No message is left pending or sending."""
        return not (await self.connection.execute(_ANY_UNSENT)).scalar_one()

    async def database_cpu(self) -> dict[int, float]:
        """CPU seconds so far of each server process on this database but this poll's
        (PostgreSQL on this machine: read from /proc)."""
        rows = await self.connection.execute(_BACKENDS)
        return {pid: cpu_seconds(pid) for pid in rows.scalars()}


_BACKENDS = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid()"
)


@asynccontextmanager
async def polling() -> AsyncIterator[Poll]:
    engine = create_engine(bench_settings())
    try:
        async with engine.connect() as connection:
            # No transaction left open between polls, to hold back the pruning of old rows.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield Poll(connection)
    finally:
        await engine.dispose()


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


async def use_link(clinic_id: uuid.UUID) -> None:
    engine = create_engine(bench_settings())
    async with engine.begin() as connection:
        await connection.execute(
            update(ClinicSettings)
            .where(ClinicSettings.clinic_id == clinic_id)  # type: ignore[arg-type]
            .values(
                provider="linkmobility",
                sender_name="Tannklinikk",
                provider_credentials={"linkmobility": LINK_CREDENTIALS},
            )
        )
    await engine.dispose()


async def queue(keys: Sequence[str], count: int, send_after: datetime | None = None) -> float:
    """POST /v1/messages/bulk for `count` patients of each clinic; answers when the last
    messages became due (or were stored, to be sent after `send_after`)."""
    app = create_app(bench_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for key in keys:
                response = await client.post(
                    "/v1/messages/bulk",
                    json={
                        "patient_nos": [f"{n:06d}" for n in range(count)],
                        "text": "Hei [Fornavn]! Husk timen din hos oss i morgen kl. 10:00.",
                    }
                    | ({"send_after": send_after.isoformat()} if send_after else {}),
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert response.status_code == 200, response.text
                assert response.json()["queued"] == count, response.json()["skipped"]
            return time.perf_counter()


async def make_due() -> float:
    """Every pending message due now, and the workers woken for them: answers the moment."""
    now = datetime.now(UTC)
    engine = create_engine(bench_settings())
    async with engine.begin() as connection:
        await connection.execute(
            update(message_table)
            .where(message_table.c.status == MessageStatus.PENDING)
            .values(next_attempt_at=now)
        )
    await engine.dispose()
    redis = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    await push_jobs(redis, [dispatch_job(now, now)], now=now)
    await redis.aclose()
    return time.perf_counter()


async def sent_messages(limit: int) -> list[Sent]:
    engine = create_engine(bench_settings())
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Message.id, Message.to_number, Message.text)  # type: ignore[call-overload]
            .where(Message.status == "sent")  # type: ignore[arg-type]
            .limit(limit)
        )
        sent = [(row.id, row.to_number, row.text) for row in rows]
    await engine.dispose()
    return sent


def _link_body(message: Sent, expires_at: datetime) -> dict[str, object]:
    message_id, to, text = message
    sms = OutboundSms(str(message_id), to, text, "Tannklinikk", SenderKind.ALPHANUMERIC, expires_at)
    return {**message_fields(sms), "relativeValidityTime": 3_600_000}


ACCOUNT = {
    "platformId": "SMS",
    "platformPartnerId": "1234",
    "useDeliveryReport": True,
    "deliveryReportGates": ["bench-gate"],
    "ignoreResponse": False,
}


async def _post_all(base_url: str, path: str, bodies: Sequence[object], in_flight: int) -> float:
    """aiohttp, `in_flight` requests at a time over keep-alive: answers the seconds taken."""
    queued = iter(bodies)
    headers = {"Authorization": aiohttp.helpers.BasicAuth("bench", "bench-password").encode()}
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=headers) as client:

        async def lane() -> None:
            for body in queued:
                async with client.post(path, json=body) as response:
                    assert response.status == 200
                    await response.json()

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(in_flight)))
        return time.perf_counter() - started


async def bare_loop(base_url: str, messages: Sequence[Sent]) -> float:
    """The messages, one `/sms/send` each, 32 in flight over aiohttp: messages per second."""
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    bodies = [_link_body(message, expires_at) | ACCOUNT for message in messages]
    return len(bodies) / await _post_all(base_url, "/sms/send", bodies, BARE_LOOP_CONCURRENCY)


async def standin_batch_capacity(base_url: str, messages: Sequence[Sent]) -> float:
    """What the stand-in takes through `/sms/sendbatch` from a client that does nothing
    else: messages per second. Far above the worker's rate, the stand-in is not what
    limits it."""
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    entries = [_link_body(message, expires_at) for message in messages]
    bodies = [
        ACCOUNT | {"sendRequestMessages": entries[start : start + CAPACITY_BATCH]}
        for start in range(0, len(entries), CAPACITY_BATCH)
    ]
    elapsed = await _post_all(base_url, "/sms/sendbatch", bodies, CAPACITY_IN_FLIGHT)
    return len(entries) / elapsed


async def standin_counts(base_url: str) -> tuple[int, int]:
    """Messages the stand-in took, and how many different refIds among them."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        counts = (await client.get("/stats")).json()
    return counts["messages"], counts["distinct"]


async def claim_to_sent_seconds(since: datetime) -> float:
    """From the first claim to the last recorded send of the messages sent since `since`:
    the send loop alone, without the wake-up's wait for the worker's next poll."""
    engine = create_engine(bench_settings())
    async with engine.connect() as connection:
        first, last = (
            await connection.execute(
                select(func.min(Message.claimed_at), func.max(Message.sent_at)).where(
                    Message.sent_at >= since  # type: ignore[arg-type, operator]
                )
            )
        ).one()
    await engine.dispose()
    return float((last - first).total_seconds())
