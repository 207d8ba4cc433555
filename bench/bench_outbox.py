"""The outbox at a busy clinic, on PostgreSQL (issue 12 §6).

10 clinics with 20,000 pending messages each, spread evenly over the next 14 days (one
every minute, round the clock: the clinic of the benchmark never pauses, so every message
is looked at), and `GET /v1/outbox` for one day, a week and the whole 14 days, 50 rows a
page, through the API in-process. p50 and spread over the rounds.

Run: `.venv/bin/python -m bench.bench_outbox [ROUNDS]`. Uses BENCH_DATABASE_URL (a
database it drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL.
"""

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime

import httpx

from app.core.clock import FixedClock
from app.core.db import create_engine
from app.main import create_app
from bench.bench_lists import _execute
from bench.common import bench_settings, create_clinic, fresh_database

CLINICS = 10
PER_CLINIC = 20_000
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)

_PENDING_SQL = """
INSERT INTO message (
    id, clinic_id, recipient_role, to_number, type, text, encoding, segments, cost,
    currency, status, send_kind, send_after, next_attempt_at, expires_at, created_at,
    allow_reply, attempts)
SELECT gen_random_uuid(), c.ids[1 + i % :clinics], 'patient',
    '+479' || lpad((i % 20000)::text, 7, '0'),
    (ARRAY['reminder_1','reminder_2','booking_confirmation','free_text'])[1 + i % 4],
    'Hei', 'gsm', 1, 0.5, 'NOK', 'pending', 'flexible', at, at, at + interval '1 day',
    CAST(:now AS timestamptz), false, 0
FROM generate_series(0, :count - 1) AS i,
     LATERAL (SELECT CAST(:now AS timestamptz) + (i / :clinics) * interval '1 minute' AS at) t,
     (SELECT array_agg(id ORDER BY id) AS ids FROM clinic) AS c
"""

PERIODS = {
    "one day": ("2026-12-02", "2026-12-02"),
    "a week": ("2026-12-02", "2026-12-08"),
    "14 days": ("2026-12-01", "2026-12-14"),
}


async def main(rounds: int) -> None:
    engine = create_engine(bench_settings())
    _, key = await create_clinic(patients=0)
    for _ in range(CLINICS - 1):
        await create_clinic(patients=0)
    await _execute(engine, _PENDING_SQL, clinics=CLINICS, count=CLINICS * PER_CLINIC, now=NOW)
    await _execute(engine, "ANALYZE")
    await engine.dispose()
    app = create_app(bench_settings(), clock=FixedClock(NOW))
    headers = {"Authorization": f"Bearer {key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            print(f"GET /v1/outbox, {PER_CLINIC:,} pending a clinic, {CLINICS} clinics:")
            for label, (first, last) in PERIODS.items():
                seconds = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await client.get(
                        "/v1/outbox", headers=headers, params={"from": first, "to": last}
                    )
                    seconds.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
                count = response.json()["totals"]["messages"]
                median = statistics.median(seconds) * 1000
                low, high = min(seconds) * 1000, max(seconds) * 1000
                print(
                    f"  {label:<8} {count:>6,} messages  median {median:6.0f} ms  "
                    f"(min {low:.0f}, max {high:.0f}, {rounds} rounds)"
                )


if __name__ == "__main__":
    fresh_database()
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
