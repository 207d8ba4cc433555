"""Appointment upserts on PostgreSQL: N appointments (default 10,000) pushed through the API,
each scheduling its reminders (reminders 1 and 2 and the booking confirmation), by a few
concurrent clients. Prints appointments per second and the SQL statements per appointment.

Run: `.venv/bin/python -m bench.bench_appointments [N] [CONCURRENCY]`. Uses BENCH_DATABASE_URL
(a database it drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL (a Redis
database it flushes).
"""

import asyncio
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, func, select

from app.appointments import messaging
from app.core.db import create_engine
from app.main import create_app
from app.messages import service as messages_service
from app.messages.models import Message
from bench.common import bench_settings, create_clinic, fresh_database

RULES = {
    "reminder_1": {"enabled": True, "hours_before": 48},
    "reminder_2": {"enabled": True, "hours_before": 24},
    "booking_confirmation": True,
}


def appointment(number: int, first: datetime) -> dict[str, Any]:
    start = first + timedelta(minutes=15 * number)
    return {
        "patient_no": f"{number:06d}",
        "practitioner": "Tannlege Hansen",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
    }


async def push_all(client: httpx.AsyncClient, key: str, count: int, concurrency: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    numbers = iter(range(count))

    async def pusher() -> None:
        for number in numbers:
            response = await client.put(
                f"/v1/appointments/B{number}", headers=headers, json=appointment(number, first)
            )
            assert response.status_code == 201, response.text

    await asyncio.gather(*(pusher() for _ in range(concurrency)))


def count_copies(counter: Callable[[], None]) -> None:
    """`bulk_insert` is a binary COPY on PostgreSQL, which SQLAlchemy's events do not see."""
    insert = messages_service.bulk_insert

    async def counted(*args: Any, **kwargs: Any) -> None:
        if args[2] if len(args) > 2 else kwargs.get("rows"):
            counter()
        await insert(*args, **kwargs)

    messages_service.bulk_insert = counted  # type: ignore[assignment]
    messaging.bulk_insert = counted  # type: ignore[attr-defined]


async def run(count: int, concurrency: int) -> None:
    settings = bench_settings()
    clinic_id, key = await create_clinic(count)
    app = create_app(settings)
    statements = 0

    def counted(*_args: object) -> None:
        nonlocal statements
        statements += 1

    count_copies(counted)
    async with app.router.lifespan_context(app):
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", counted)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            rules = await client.put(
                "/v1/reminder-rules", headers={"Authorization": f"Bearer {key}"}, json=RULES
            )
            assert rules.status_code == 200, rules.text
            statements = 0
            started = time.perf_counter()
            await push_all(client, key, count, concurrency)
            elapsed = time.perf_counter() - started

    engine = create_engine(settings)
    async with engine.connect() as connection:
        messages = (await connection.execute(select(func.count()).select_from(Message))).scalar()
    await engine.dispose()
    print(f"appointments: {count} (clinic {clinic_id}), {concurrency} concurrent clients")
    print(f"messages scheduled: {messages}")
    print(f"PUT /v1/appointments: {elapsed:.2f} s = {count / elapsed:,.0f} appointments/s")
    print(f"SQL statements per appointment (incl. auth, excl. commit): {statements / count:.1f}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    fresh_database()
    asyncio.run(run(count, concurrency))


if __name__ == "__main__":
    main()
