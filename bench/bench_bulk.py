"""`POST /v1/messages/bulk` for 10,000 patients on PostgreSQL (issue 15: at most 0.5 s).

The API in-process, no worker: each round sends one free text with merge fields to every
patient of the clinic, the messages stay pending. Prints each round and the median; with
PROFILE=1 the profile of one more round (cProfile, the top by own time). The CPU time is the
whole process's (the API runs in it), which on a shared machine varies less than the wall time;
where the server is on this machine and its processes readable (/proc/<pid>/schedstat), the CPU
time of the database's PostgreSQL backends too: storing the rows is most of the wall time.

Run: `.venv/bin/python -m bench.bench_bulk [ROUNDS [PATIENTS]]`. Uses BENCH_DATABASE_URL (a
database it drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL.
"""

import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from app.main import create_app
from bench.common import DATABASE_URL, bench_settings, create_clinic, fresh_database

TEXT = "Hei [Fornavn]! Husk timen din hos oss. Ring [Businessphone] om noe."


async def backends_cpu(connection: asyncpg.Connection) -> float | None:
    """The CPU seconds the database's other backends have used, if /proc shows them."""
    pids = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    return _cpu_seconds([row["pid"] for row in pids])


def _cpu_seconds(pids: list[int]) -> float | None:
    try:
        return sum(int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) for pid in pids) / 1e9
    except OSError:  # another machine's server, or not ours to read
        return None


def _spread(values: list[float]) -> str:
    median = statistics.median(values)
    return f"median {median:.3f} s (min {min(values):.3f}, max {max(values):.3f})"


async def run(rounds: int, count: int) -> None:
    _, key = await create_clinic(count)
    app = create_app(bench_settings())
    body = {"patient_nos": [f"{n:06d}" for n in range(count)], "text": TEXT}
    headers = {"Authorization": f"Bearer {key}"}
    watcher = await asyncpg.connect(DATABASE_URL.replace("postgresql+asyncpg", "postgresql"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post() -> tuple[float, float, float | None]:
                before = await backends_cpu(watcher)
                started, cpu = time.perf_counter(), time.process_time()
                response = await client.post("/v1/messages/bulk", json=body, headers=headers)
                wall, used = time.perf_counter() - started, time.process_time() - cpu
                after = await backends_cpu(watcher)
                assert response.status_code == 200, response.text
                assert response.json()["queued"] == count, response.json()["skipped"]
                return wall, used, None if before is None or after is None else after - before

            await post()  # warm-up: imports, caches, the first connections
            seconds, cpu, server = [], [], []
            for round_ in range(rounds):
                wall, used, backends = await post()
                seconds.append(wall)
                cpu.append(used)
                line = f"  round {round_ + 1}: {wall:.3f} s (CPU {used:.3f} s"
                if backends is not None:
                    server.append(backends)
                    line += f", PostgreSQL's {backends:.3f} s"
                print(line + ")")
            median = statistics.median(seconds)
            verdict = "ok" if median <= 0.5 else "OVER"
            print(
                f"POST /v1/messages/bulk, {count:,} patients, {rounds} rounds (target <= 0.5 s): "
                f"{_spread(seconds)} {verdict}; the API's CPU {_spread(cpu)}"
                + (f"; PostgreSQL's backends' CPU {_spread(server)}" if server else "")
            )
            if os.environ.get("PROFILE") == "1":
                profile = cProfile.Profile()
                profile.enable()
                await post()
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(40)
    await watcher.close()


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    fresh_database()
    asyncio.run(run(rounds, count))


if __name__ == "__main__":
    main()
