"""`POST /v1/messages/bulk` for 10,000 patients on PostgreSQL (issue 15: at most 0.5 s).

The API in-process, no worker: each round sends one free text with merge fields to every
patient of the clinic, the messages stay pending. Prints each round and the median; with
PROFILE=1 the profile of one more round (cProfile, the top by own time). The CPU time is the
whole process's (the API runs in it), which on a shared machine varies less than the wall time.

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

import httpx

from app.main import create_app
from bench.common import bench_settings, create_clinic, fresh_database

TEXT = "Hei [Fornavn]! Husk timen din hos oss. Ring [Businessphone] om noe."


async def run(rounds: int, count: int) -> None:
    _, key = await create_clinic(count)
    app = create_app(bench_settings())
    body = {"patient_nos": [f"{n:06d}" for n in range(count)], "text": TEXT}
    headers = {"Authorization": f"Bearer {key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post() -> tuple[float, float]:
                started, cpu = time.perf_counter(), time.process_time()
                response = await client.post("/v1/messages/bulk", json=body, headers=headers)
                elapsed = time.perf_counter() - started, time.process_time() - cpu
                assert response.status_code == 200, response.text
                assert response.json()["queued"] == count, response.json()["skipped"]
                return elapsed

            await post()  # warm-up: imports, caches, the first connections
            seconds, cpu = [], []
            for round_ in range(rounds):
                wall, used = await post()
                seconds.append(wall)
                cpu.append(used)
                print(f"  round {round_ + 1}: {wall:.3f} s (CPU {used:.3f} s)")
            median = statistics.median(seconds)
            verdict = "ok" if median <= 0.5 else "OVER"
            print(
                f"POST /v1/messages/bulk, {count:,} patients: median {median:.3f} s "
                f"(min {min(seconds):.3f}, max {max(seconds):.3f}, {rounds} rounds; "
                f"target <= 0.5 s) {verdict}; the API's CPU median {statistics.median(cpu):.3f} s "
                f"(min {min(cpu):.3f}, max {max(cpu):.3f})"
            )
            if os.environ.get("PROFILE") == "1":
                profile = cProfile.Profile()
                profile.enable()
                await post()
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(40)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    fresh_database()
    asyncio.run(run(rounds, count))


if __name__ == "__main__":
    main()
