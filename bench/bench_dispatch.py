"""Sending through the LINK adapter, and taking LINK's delivery reports, on PostgreSQL.

1. In each of R rounds (default 5), N messages (default 10,000) due at once, sent by one
   worker process (`python -m app.worker`) through the LINK Mobility adapter to a stand-in
   LINK server on a real socket in its own process (`bench/link_server.py`): messages
   per second from due to recorded as sent, and from the first claim to the last send.
   In the same round, a bare aiohttp loop posts the same N messages one request each to
   the same server's `/sms/send`, 32 in flight; the ratio is the figure (target ≥ 1.5×).
   And the stand-in's own capacity for batches (a client posting prebuilt batches of
   1,000, 4 in flight): far above the worker's rate, it is not what limits the worker.
   The worker's peak RSS (VmHWM) after all rounds (target ≤ 150 MB).
2. N LINK delivery reports (one per message) posted to our webhook, the API served by
   uvicorn in its own process: reports per second taken; then none lost: every report
   stored and, applied by the worker, every message delivered. One run.

Run: `.venv/bin/python -m bench.bench_dispatch [N] [R]`. Uses BENCH_DATABASE_URL (a
database it drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL
(default db 14).
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from app.clinics.models import Clinic
from app.deliveries.models import StoredDeliveryReport
from app.messages.models import Message
from app.worker.models import WorkerStatus
from bench import link_server
from bench.common import (
    DATABASE_URL,
    REDIS_URL,
    ROOT,
    cpu_seconds,
    create_clinic,
    fresh_database,
    peak_rss_mib,
    wait_until,
    worker_process,
)
from bench.sending import (
    Sent,
    bare_loop,
    claim_to_sent_seconds,
    cpu_since,
    polling,
    queue,
    scalar,
    sent_count,
    sent_messages,
    spread,
    standin_batch_capacity,
    use_link,
)

# Providers post reports concurrently; the intake writes whatever arrived meanwhile together.
REPORT_CONNECTIONS = 64


async def send_phase(count: int, rounds: int, key: str, link_url: str) -> list[Sent]:
    async def worker_ready() -> bool:
        return await scalar(select(func.count()).select_from(WorkerStatus)) > 0

    worker_rates, loop_rates, bare_rates, capacities, ratios = [], [], [], [], []
    worker_cpu, database_cpu = [], []
    with worker_process(LINKMOBILITY_BASE_URL=link_url) as worker:
        await wait_until(worker_ready, within=30)
        for round_ in range(1, rounds + 1):
            since = datetime.now(UTC)
            async with polling() as poll:
                due = await queue([key], count)
                database, own = await poll.database_cpu(), cpu_seconds(worker.pid)
                done = await wait_until(poll.all_sent, within=300)
                database_cpu.append(cpu_since(database, await poll.database_cpu()) / count)
                worker_cpu.append((cpu_seconds(worker.pid) - own) / count)
            assert await sent_count() == round_ * count, "every message of the round is sent"
            worker_rates.append(count / (done - due))
            loop_rates.append(count / await claim_to_sent_seconds(since))
            messages = await sent_messages(count)
            bare_rates.append(await bare_loop(link_url, messages))
            capacities.append(await standin_batch_capacity(link_url, messages))
            ratios.append(worker_rates[-1] / bare_rates[-1])
            print(
                f"round {round_}: worker {worker_rates[-1]:,.0f}/s (claim to sent "
                f"{loop_rates[-1]:,.0f}/s), bare loop {bare_rates[-1]:,.0f}/s, "
                f"stand-in batch capacity {capacities[-1]:,.0f}/s, ratio {ratios[-1]:.2f}x; "
                f"CPU a message: worker {worker_cpu[-1] * 1e6:.0f} µs, "
                f"PostgreSQL {database_cpu[-1] * 1e6:.0f} µs"
            )
        peak = peak_rss_mib(worker.pid)
    print(f"worker via LINK adapter, due to sent: {spread(worker_rates, '/s')}")
    print(f"worker via LINK adapter, first claim to last sent: {spread(loop_rates, '/s')}")
    print(f"bare aiohttp loop, one /sms/send each, 32 in flight: {spread(bare_rates, '/s')}")
    print(f"stand-in capacity through /sms/sendbatch: {spread(capacities, '/s')}")
    print(f"worker / bare loop, same round: {spread(ratios, 'x', 2)}")
    micro = 1e6
    print(f"worker CPU a message: {spread([s * micro for s in worker_cpu], ' µs')}")
    print(
        "PostgreSQL CPU a message (this database's server processes, due to sent): "
        f"{spread([s * micro for s in database_cpu], ' µs')}"
    )
    print(f"worker peak memory (VmHWM) after {rounds} rounds: {peak:.0f} MiB")
    return await sent_messages(count)


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


async def report_phase(messages: Sequence[Sent], secret: str, link_url: str) -> None:
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
        return await scalar(stored) >= count

    async def all_delivered() -> bool:
        delivered = select(func.count()).where(Message.delivery == "delivered")  # type: ignore[arg-type]
        return await scalar(delivered) >= count

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


async def run(count: int, rounds: int) -> None:
    clinic_id, key = await create_clinic(count)
    await use_link(clinic_id)
    secret = str(await scalar(select(Clinic.webhook_secret).where(Clinic.id == clinic_id)))  # type: ignore[arg-type]
    server, link_url = link_server.start()
    try:
        print(f"messages: {count} a round, {rounds} rounds (one worker, one stand-in)")
        messages = await send_phase(count, rounds, key, link_url)
        await report_phase(messages, secret, link_url)
    finally:
        server.terminate()
        server.join()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    fresh_database()
    asyncio.run(run(count, rounds))


if __name__ == "__main__":
    main()
