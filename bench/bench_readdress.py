"""Re-addressing a patient's pending messages on PostgreSQL: one patient with N pending
messages (default 1,000) changes number through `PUT /v1/patients/{patient_no}`, several
times, then name (every text rendered again); prints the time of each request (the whole
transaction) and the spread.

Run: `.venv/bin/python -m bench.bench_readdress [N] [RUNS]`. Uses BENCH_DATABASE_URL (a
database it drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL.
"""

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from app.core.db import create_engine
from app.main import create_app
from app.messages.models import Message
from bench.common import bench_settings, create_clinic, fresh_database


async def main(count: int, runs: int) -> None:
    _, key = await create_clinic(patients=1)
    headers = {"Authorization": f"Bearer {key}"}
    app = create_app(bench_settings())
    later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {"patient_nos": ["000000"], "text": "Hei [Fornavn]", "send_after": later}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
    ):
        for _ in range(count):
            response = await client.post("/v1/messages/bulk", headers=headers, json=body)
            assert response.status_code == 200, response.text
        timings: list[float] = []
        for run in range(runs):
            patient = {"first_name": "Kari", "last_name": "Nordmann", "mobile": f"+4793{run:06d}"}
            timings.append(await _timed_put(client, headers, patient))
        renames: list[float] = []
        for run in range(runs):
            patient = {
                "first_name": f"Kari{run}",
                "last_name": "Nordmann",
                "mobile": f"+4793{runs - 1:06d}",
            }
            renames.append(await _timed_put(client, headers, patient))
    engine = create_engine(bench_settings())
    async with engine.connect() as connection:
        moved = await connection.scalar(
            select(func.count()).where(Message.to_number == f"+4793{runs - 1:06d}")  # type: ignore[arg-type]
        )
    await engine.dispose()
    assert moved == count, moved
    _report(f"re-addressing {count} pending messages, {runs} runs (ms per PUT):", timings)
    _report(f"rendering {count} pending texts again, {runs} runs (ms per PUT):", renames)


async def _timed_put(
    client: httpx.AsyncClient, headers: dict[str, str], patient: dict[str, str]
) -> float:
    started = time.perf_counter()
    response = await client.put("/v1/patients/000000", headers=headers, json=patient)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def _report(title: str, timings: list[float]) -> None:
    print(title)
    print("  " + ", ".join(f"{t:.1f}" for t in timings))
    print(
        f"  min {min(timings):.1f}  median {statistics.median(timings):.1f}  "
        f"max {max(timings):.1f}  stdev {statistics.stdev(timings):.1f}"
    )


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:3]]
    fresh_database()
    asyncio.run(main(*(arguments + [1000, 7][len(arguments) :])))
