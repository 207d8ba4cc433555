"""Batch upserts on PostgreSQL, through one API process (uvicorn on a real socket):

1. patients through `PUT /v1/patients`, 1,000 a request (target ≥ 5,000/s);
2. appointments through `PUT /v1/appointments`, 1,000 a request, each scheduling three
   messages (reminders 1 and 2 and the booking confirmation) (target ≥ 2,000/s): one
   request at a time, then two clinics of a chain syncing at once (the API works on one
   request while PostgreSQL does the other's);
3. single appointment upserts, `PUT /v1/appointments/{id}`, by 8 concurrent clients
   (target ≥ 300/s).

Each phase runs several rounds on new ids and prints every round, the median and the spread,
and the CPU time per item of the API process and of PostgreSQL's processes (steadier than
rates on a shared machine).

Run: `.venv/bin/python -m bench.bench_batch_upserts [ROUNDS] [PER_ROUND] [SINGLES]`. Uses
BENCH_DATABASE_URL (a database it drops and recreates; default `bench` on 127.0.0.1) and
BENCH_REDIS_URL (a Redis database it flushes).
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text

from app.core.db import create_engine
from app.messages.models import Message
from bench.common import (
    DATABASE_URL,
    REDIS_URL,
    ROOT,
    bench_settings,
    cpu_seconds,
    create_clinic,
    fresh_database,
    wait_until,
)
from bench.sending import cpu_since, polling, spread

RULES = {
    "reminder_1": {"enabled": True, "hours_before": 48},
    "reminder_2": {"enabled": True, "hours_before": 24},
    "booking_confirmation": True,
}
BATCH = 1000
SINGLE_CLIENTS = 8


@contextmanager
def api_process() -> Iterator[tuple[str, int]]:
    """The API served by uvicorn in its own process; answers its base URL and pid."""
    with socket.create_server(("127.0.0.1", 0)) as probe:  # a free port, for uvicorn
        host, port = probe.getsockname()[:2]
    environment = os.environ | {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "ADMIN_TOKEN": "bench-admin-token",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_MINUTE": "1000000",
    }
    uvicorn = str(ROOT / ".venv" / "bin" / "uvicorn")
    command = [uvicorn, "app.main:app", "--host", host, "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command + ["--log-level", "warning"], cwd=ROOT, env=environment)
    try:
        yield f"http://{host}:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def patient(number: int) -> dict[str, Any]:
    return {
        "patient_no": f"P{number:07d}",
        "first_name": "Kari",
        "last_name": f"Nordmann {number}",
        "mobile": f"+479{number % 10_000_000:07d}",
        "wants_sms": True,
        "recall_due": "2027-06-01",
    }


def appointment(number: int, first: datetime) -> dict[str, Any]:
    start = first + timedelta(minutes=15 * number)
    return {
        "appointment_id": f"B{number}",
        "patient_no": f"{number % 20_000:06d}",
        "practitioner": "Tannlege Hansen",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
    }


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _put_batches(
    client: httpx.AsyncClient, path: str, key: str, items: Sequence[dict[str, Any]]
) -> None:
    for chunk in chunks(items, BATCH):
        response = await client.put(path, content=json.dumps({key: list(chunk)}))
        assert response.status_code == 200, response.text
        assert response.json()["failed"] == 0, response.text


async def _two_clinics_at_once(
    clients: Sequence[httpx.AsyncClient], items: Sequence[dict[str, Any]]
) -> None:
    """Half the items for each clinic, both syncing at once (one clinic's large batches
    wait for each other: they hold its number locks)."""
    half = len(items) // 2
    parts = (items[:half], items[half:])
    await asyncio.gather(
        *(
            _put_batches(client, "/v1/appointments", "appointments", part)
            for client, part in zip(clients, parts, strict=True)
        )
    )


async def _put_singles(base_url: str, api_key: str, bodies: Sequence[tuple[str, bytes]]) -> None:
    """Plain keep-alive HTTP/1.1 over 8 connections: a client far cheaper than httpx, so
    the API is what gets measured."""
    host, port = base_url.removeprefix("http://").split(":")
    requests = iter(
        b"PUT %s HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (path.encode(), api_key.encode(), len(body), body)
        for path, body in bodies
    )

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for request in requests:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.split(b" ", 2)[1] == b"201", head
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(SINGLE_CLIENTS)))


async def _analyze() -> None:
    engine = create_engine(bench_settings())
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


Round = tuple[float, float, float]
"""Items per second, and the API's and PostgreSQL's CPU milliseconds per item."""


def report(name: str, unit: str, rounds: list[Round], target: float) -> None:
    rates = [rate for rate, _, _ in rounds]
    print(f"{name}: rounds {', '.join(f'{rate:,.0f}' for rate in rates)} {unit}/s")
    print(
        f"  {spread(rates, f' {unit}/s')}; CPU per item: API "
        f"{spread([api for _, api, _ in rounds], ' ms', 2)}, PostgreSQL "
        f"{spread([db for _, _, db in rounds], ' ms', 2)}; target >= {target:,.0f}/s"
    )


async def _round(pid: int, items: int, work: Awaitable[None]) -> Round:
    # Autovacuum is off on the CI server. In production it analyzes a table each time a
    # tenth of it has changed, and the plans of a push depend on it: before each round here.
    await _analyze()
    async with polling() as poll:
        database = await poll.database_cpu()
        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        await work
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
        database_cpu = cpu_since(database, await poll.database_cpu())
    return items / elapsed, cpu * 1000 / items, database_cpu * 1000 / items


async def run(rounds: int, per_round: int, singles: int) -> None:
    _, api_key = await create_clinic(20_000)  # the patients the appointments are for
    _, second_key = await create_clinic(20_000)  # a second clinic of the chain
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    second_headers = headers | {"Authorization": f"Bearer {second_key}"}
    with api_process() as (base_url, pid):

        async def api_ready() -> bool:
            try:
                async with httpx.AsyncClient(base_url=base_url) as probe:
                    return (await probe.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(api_ready, within=30)
        async with (
            httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as client,
            httpx.AsyncClient(base_url=base_url, headers=second_headers, timeout=120) as second,
        ):
            for each in (client, second):
                rules = await each.put("/v1/reminder-rules", json=RULES)
                assert rules.status_code == 200, rules.text
            first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
            patients, appointments, two_at_once, single = [], [], [], []
            for number in range(rounds):
                base = number * per_round
                people = [patient(base + n) for n in range(per_round)]
                work = _put_batches(client, "/v1/patients", "patients", people)
                patients.append(await _round(pid, per_round, work))
            for number in range(rounds):
                base = number * per_round
                booked = [appointment(base + n, first) for n in range(per_round)]
                work = _put_batches(client, "/v1/appointments", "appointments", booked)
                appointments.append(await _round(pid, per_round, work))
            for number in range(rounds):
                base = (rounds + number) * per_round
                booked = [appointment(base + n, first) for n in range(per_round)]
                work = _two_clinics_at_once((client, second), booked)
                two_at_once.append(await _round(pid, per_round, work))
            for number in range(rounds):
                base = 2 * rounds * per_round + number * singles
                bodies = []
                for n in range(base, base + singles):
                    body = appointment(n, first)
                    path = f"/v1/appointments/{body.pop('appointment_id')}"
                    bodies.append((path, json.dumps(body).encode()))
                work = _put_singles(base_url, api_key, bodies)
                single.append(await _round(pid, singles, work))
    engine = create_engine(bench_settings())
    async with engine.connect() as connection:
        messages = (await connection.execute(select(func.count()).select_from(Message))).scalar()
    await engine.dispose()
    print(f"{rounds} rounds; {per_round} patients and appointments a round, {singles} singles")
    print(f"messages scheduled: {messages} (3 per appointment)")
    report("patients, PUT /v1/patients", "patients", patients, 5_000)
    report("appointments, PUT /v1/appointments", "appointments", appointments, 2_000)
    report("  the same, two clinics syncing at once", "appointments", two_at_once, 2_000)
    report(
        f"single PUT /v1/appointments/{{id}}, {SINGLE_CLIENTS} clients", "appointments", single, 300
    )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    per_round = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000
    singles = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000
    fresh_database()
    asyncio.run(run(rounds, per_round, singles))


if __name__ == "__main__":
    main()
