"""Engine benchmark on PostgreSQL with the sandbox provider and one real worker process.

1. `POST /v1/messages/bulk` for N patients (default 10,000): time to answer (target < 1 s).
2. The N messages, all due at once, sent by one `python -m app.worker` process:
   messages per second from due (the bulk committed) to recorded as sent (target ≥ 5,000/s),
   and the worker's peak memory.

Run: `.venv/bin/python bench/bench_engine.py [N]`. Uses BENCH_DATABASE_URL (a database it
drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL (default db 14).
"""

import asyncio
import sys
import time

import httpx
from sqlalchemy import func, select

from app.core.db import create_engine
from app.main import create_app
from app.messages.models import Message
from app.worker.models import WorkerStatus
from bench.common import (
    bench_settings,
    create_clinic,
    fresh_database,
    peak_rss_mib,
    wait_until,
    worker_process,
)


async def run(count: int) -> None:
    settings = bench_settings()
    clinic_id, key = await create_clinic(count)
    engine = create_engine(settings)

    async def scalar(statement: object) -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(statement)).scalar_one())  # type: ignore[call-overload]

    async def worker_ready() -> bool:
        return await scalar(select(func.count()).select_from(WorkerStatus)) > 0

    async def all_sent() -> bool:
        sent = select(func.count()).where(Message.status == "sent")  # type: ignore[arg-type]
        return await scalar(sent) >= count

    with worker_process() as worker:
        await wait_until(worker_ready, within=30)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                body = {
                    "patient_nos": [f"{n:06d}" for n in range(count)],
                    "text": "Hei [Fornavn]! Husk timen din hos oss. Ring [Businessphone] om noe.",
                }
                started = time.perf_counter()
                response = await client.post(
                    "/v1/messages/bulk", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                due = time.perf_counter()
        assert response.status_code == 200, response.text
        assert response.json()["queued"] == count, response.json()["skipped"]
        done = await wait_until(all_sent, within=300)
        peak = peak_rss_mib(worker.pid)
    await engine.dispose()

    print(f"messages: {count} (clinic {clinic_id})")
    print(f"POST /v1/messages/bulk: {due - started:.3f} s for {count} patients")
    print(f"due -> recorded as sent: {done - due:.3f} s = {count / (done - due):,.0f} messages/s")
    print(f"worker peak memory (VmHWM): {peak:.0f} MiB")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    fresh_database()
    asyncio.run(run(count))


if __name__ == "__main__":
    main()
