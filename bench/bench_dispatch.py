"""Sending through the LINK adapter, and taking LINK's delivery reports, on PostgreSQL.

1. N messages (default 10,000) due at once, sent by one worker process (`arq
   app.worker.WorkerSettings`) through the LINK Mobility adapter to a stand-in LINK server
   on a real socket in its own process (`bench/link_server.py`): messages per second
   from due to recorded as sent (target ≥ 3,000/s).
   In the same run, a bare httpx client posts the same N messages one request each to the
   same server's `/sms/send`, as fast as it can (8 at a time, where httpx peaks): the
   worker must beat it.
2. N LINK delivery reports (one per message) posted to our webhook, the API served by
   uvicorn in its own process: reports per second taken (target ≥ 2,000/s); then none
   lost: every report stored and, applied by the worker, every message delivered.

Run: `.venv/bin/python -m bench.bench_dispatch [N]`. Uses BENCH_DATABASE_URL (a database it
drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL (default db 14).
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from app.clinic_settings.models import ClinicSettings
from app.clinics.models import Clinic
from app.core.db import create_engine
from app.deliveries.models import StoredDeliveryReport
from app.main import create_app
from app.messages.models import Message
from app.providers.base import OutboundSms, SenderKind
from app.providers.linkmobility import message_fields
from app.worker.models import WorkerStatus
from bench import link_server
from bench.common import (
    DATABASE_URL,
    REDIS_URL,
    ROOT,
    bench_settings,
    create_clinic,
    fresh_database,
    peak_rss_mib,
    wait_until,
    worker_process,
)

LINK_CREDENTIALS = {
    "username": "bench",
    "password": "bench-password",
    "platform_id": "SMS",
    "platform_partner_id": "1234",
    "gate_id": "bench-gate",
}
BARE_LOOP_CONCURRENCY = 8
# Providers post reports concurrently; the intake writes whatever arrived meanwhile together.
REPORT_CONNECTIONS = 64


async def _scalar(statement: Any) -> Any:
    engine = create_engine(bench_settings())
    try:
        async with engine.connect() as connection:
            return (await connection.execute(statement)).scalar_one()
    finally:
        await engine.dispose()


async def _use_link(clinic_id: uuid.UUID) -> None:
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


async def _queue(key: str, count: int) -> float:
    """POST /v1/messages/bulk for every patient; answers when the messages became due."""
    app = create_app(bench_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            response = await client.post(
                "/v1/messages/bulk",
                json={
                    "patient_nos": [f"{n:06d}" for n in range(count)],
                    "text": "Hei [Fornavn]! Husk timen din hos oss i morgen kl. 10:00.",
                },
                headers={"Authorization": f"Bearer {key}"},
            )
            due = time.perf_counter()
    assert response.status_code == 200, response.text
    assert response.json()["queued"] == count, response.json()["skipped"]
    return due


async def _sent_messages() -> list[tuple[uuid.UUID, str, str]]:
    engine = create_engine(bench_settings())
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Message.id, Message.to_number, Message.text).where(  # type: ignore[call-overload]
                Message.status == "sent"  # type: ignore[arg-type]
            )
        )
        sent = [(row.id, row.to_number, row.text) for row in rows]
    await engine.dispose()
    return sent


async def _bare_loop(base_url: str, messages: Sequence[tuple[uuid.UUID, str, str]]) -> float:
    """The same messages, one `/sms/send` each, 8 in flight: answers messages per second."""
    now = datetime.now(UTC)
    expires_at = now + timedelta(hours=1)
    bodies = [
        {
            **message_fields(
                OutboundSms(
                    str(message_id), to, text, "Tannklinikk", SenderKind.ALPHANUMERIC, expires_at
                ),
                now,
            ),
            "platformId": "SMS",
            "platformPartnerId": "1234",
            "useDeliveryReport": True,
            "deliveryReportGates": ["bench-gate"],
            "ignoreResponse": False,
        }
        for message_id, to, text in messages
    ]
    queue = iter(bodies)
    auth = httpx.BasicAuth("bench", "bench-password")
    limits = httpx.Limits(max_connections=BARE_LOOP_CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, auth=auth, limits=limits) as client:

        async def lane() -> None:
            for body in queue:
                response = await client.post("/sms/send", json=body)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(BARE_LOOP_CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed


async def send_phase(count: int, key: str, link_url: str) -> list[tuple[uuid.UUID, str, str]]:
    async def worker_ready() -> bool:
        return await _scalar(select(func.count()).select_from(WorkerStatus)) > 0

    async def all_sent() -> bool:
        sent = select(func.count()).where(Message.status == "sent")  # type: ignore[arg-type]
        return await _scalar(sent) >= count

    with worker_process(LINKMOBILITY_BASE_URL=link_url) as worker:
        await wait_until(worker_ready, within=30)
        due = await _queue(key, count)
        done = await wait_until(all_sent, within=300)
        peak = peak_rss_mib(worker.pid)
    worker_rate = count / (done - due)
    messages = await _sent_messages()
    bare_rate = await _bare_loop(link_url, messages)
    print(f"worker via LINK adapter: {done - due:.3f} s = {worker_rate:,.0f} messages/s")
    print(f"worker peak memory (VmHWM): {peak:.0f} MiB")
    print(
        f"bare httpx loop, one /sms/send each ({BARE_LOOP_CONCURRENCY} in flight): "
        f"{bare_rate:,.0f} messages/s"
    )
    print(f"worker / bare loop: {worker_rate / bare_rate:.1f}x")
    return messages


@contextmanager
def api_process() -> Iterator[str]:
    """The API served by uvicorn in its own process; answers its base URL."""
    # A free port, closed again for uvicorn to bind: a socket handed over with `--fd`
    # loses TCP_NODELAY (asyncio checks its protocol), and Nagle then stalls every answer.
    with socket.create_server(("127.0.0.1", 0)) as probe:
        host, port = probe.getsockname()[:2]
    environment = os.environ | {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "ADMIN_TOKEN": "bench-admin-token",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(ROOT / ".venv" / "bin" / "uvicorn"),
        "app.main:app",
        "--host",
        host,
        "--port",
        str(port),
        "--backlog",
        "2048",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    try:
        yield f"http://{host}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _post_all(base_url: str, path: str, bodies: Sequence[bytes]) -> list[int]:
    """Plain keep-alive HTTP/1.1 over a few connections: a client far cheaper than httpx,
    so the API is what gets measured."""
    host, port = base_url.removeprefix("http://").split(":")
    requests = iter(
        b"POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body)
        for body in bodies
    )
    statuses: list[int] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for request in requests:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            statuses.append(int(head.split(b" ", 2)[1]))
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(REPORT_CONNECTIONS)))
    return statuses


async def report_phase(
    messages: Sequence[tuple[uuid.UUID, str, str]], secret: str, link_url: str
) -> None:
    count = len(messages)
    bodies = [
        json.dumps(
            {
                "refId": str(message_id),
                "id": f"link{index:012d}",
                "operator": "no.telenor",
                "sentTimestamp": "2026-11-30T10:00:00Z",
                "timestamp": "2026-11-30T10:00:05Z",
                "resultCode": 1001,
                "operatorResultCode": "2",
                "segments": 1,
                "gateCustomParameters": {},
                "customParameters": {},
            }
        ).encode()
        for index, (message_id, _, _) in enumerate(messages)
    ]

    async def api_ready(base_url: str) -> bool:
        try:
            async with httpx.AsyncClient(base_url=base_url) as client:
                return (await client.get("/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def all_stored() -> bool:
        stored = select(func.count()).select_from(StoredDeliveryReport)
        return await _scalar(stored) >= count

    async def all_delivered() -> bool:
        delivered = select(func.count()).where(Message.delivery == "delivered")  # type: ignore[arg-type]
        return await _scalar(delivered) >= count

    with api_process() as base_url:
        await wait_until(lambda: api_ready(base_url), within=30)
        path = f"/v1/webhooks/linkmobility/{secret}/delivery"
        started = time.perf_counter()
        statuses = await _post_all(base_url, path, bodies)
        taken = time.perf_counter()
        assert statuses == [200] * count, {s: statuses.count(s) for s in set(statuses)}
        assert await all_stored(), "a report answered 200 is committed"
        # Taken with no worker running, so the intake alone is measured; then applied.
        with worker_process(LINKMOBILITY_BASE_URL=link_url):
            applying = time.perf_counter()
            applied = await wait_until(all_delivered, within=120)
    print(f"delivery reports taken: {taken - started:.3f} s = {count / (taken - started):,.0f}/s")
    print(
        f"all {count} stored, none lost; applied by the worker (all delivered) in "
        f"{applied - applying:.3f} s = {count / (applied - applying):,.0f}/s"
    )


async def run(count: int) -> None:
    clinic_id, key = await create_clinic(count)
    await _use_link(clinic_id)
    secret = str(await _scalar(select(Clinic.webhook_secret).where(Clinic.id == clinic_id)))  # type: ignore[arg-type]
    server, link_url = link_server.start()
    try:
        print(f"messages: {count}")
        messages = await send_phase(count, key, link_url)
        await report_phase(messages, secret, link_url)
    finally:
        server.terminate()
        server.join()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    fresh_database()
    asyncio.run(run(count))


if __name__ == "__main__":
    main()
