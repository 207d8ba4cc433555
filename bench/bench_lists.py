"""Lists and the queue at a million messages, on PostgreSQL (issue 15 §2).

1. 1,000,000 messages spread over 10 clinics (a year of them, most sent, some failed,
   cancelled or pending): `GET /v1/messages` with 50 rows and each filter alone, and a
   free-text search, through the API in-process. p50 and p99 over many requests.
2. A day of 200 appointments, each with three messages: `GET /v1/appointments?date=`.
3. The worker's sweep and claim with 1,000 due messages, beside 1,000 and then 1,000,000
   pending messages not yet due: their cost ratio, and the `EXPLAIN` of the claim.

Run: `.venv/bin/python -m bench.bench_lists [ROUNDS [MESSAGES]]`. Uses BENCH_DATABASE_URL
(a database it drops and recreates; default `bench` on 127.0.0.1) and BENCH_REDIS_URL. With
BENCH_KEEP=1 it keeps the database between runs: filled once (about 3 minutes), then
upgraded to the head revision and reused, the queue phase's rows taken out again.
"""

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable

from app.core.db import create_engine, create_sessionmaker
from app.core.secrets import configure as configure_secrets
from app.main import create_app
from app.messages.claim import claim_due, claim_statement
from app.messages.sweep import (
    expire_overdue,
    expire_statement,
    settle_abandoned_sends,
    upcoming_send_times,
    upcoming_statement,
)
from app.messages.tasks import WAKE_UP_HORIZON
from bench.common import bench_settings, create_clinic, fresh_database

CLINICS = 10
MESSAGES = 1_000_000
DAY = date(2026, 12, 15)
# The newest message; the year of messages runs back from here.
NEWEST = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

_MESSAGES_SQL = """
INSERT INTO message (
    id, clinic_id, patient_no, patient_name, recipient_role, recipient_name, to_number,
    type, appointment_id, practitioner, allow_reply, text, encoding, segments, cost,
    currency, status, failure_reason, delivery, send_kind, send_after, next_attempt_at,
    expires_at, attempts, provider, created_at, sent_at, delivered_at)
SELECT gen_random_uuid(), c.ids[1 + i % :clinics], lpad((i / 10 % 20000)::text, 6, '0'),
    'Kari Nordmann ' || (i / 10 % 20000), 'patient', 'Kari Nordmann ' || (i / 10 % 20000),
    '+479' || lpad((i / 10 % 20000)::text, 7, '0'),
    (ARRAY['reminder_1','reminder_2','booking_confirmation','thank_you','free_text',
           'reminder_1','reminder_2','free_text','recall','marketing'])[1 + i / 7 % 10],
    CASE WHEN i % 3 = 0 THEN 'B' || i END, 'P' || (i % 7), true,
    'Hei Kari! Husk timen din hos oss ' || (ARRAY['mandag','tirsdag','onsdag','torsdag',
        'fredag'])[1 + i % 5] || ' kl. 10:00. Mvh Tannklinikken ' || (i % 997)
        || CASE WHEN c.ids[1 + i % :clinics] <> :first THEN ' Velkommen til Storbyen!' ELSE ''
           END,
    'gsm', 1, 0.5, 'NOK',
    CASE WHEN i % 50 = 1 THEN 'failed' WHEN i % 33 = 2 THEN 'cancelled' ELSE 'sent' END,
    CASE WHEN i % 50 = 1 THEN 'provider_rejected' END,
    CASE WHEN i % 50 <> 1 AND i % 33 <> 2 THEN 'delivered' END, 'now',
    ts, ts, ts + interval '48 hours', 1, 'sandbox', ts, ts, ts
FROM generate_series(1, :count) AS i,
     LATERAL (SELECT CAST(:newest AS timestamptz) - i * interval '31 seconds' AS ts) AS t,
     (SELECT array_agg(id ORDER BY id) AS ids FROM clinic) AS c
"""

_PENDING_SQL = """
INSERT INTO message (
    id, clinic_id, recipient_role, to_number, type, text, encoding, segments, cost,
    currency, status, send_kind, send_after, next_attempt_at, expires_at, created_at,
    allow_reply, attempts)
SELECT gen_random_uuid(), c.ids[1 + i % :clinics], 'patient',
    '+479' || lpad((i % 20000)::text, 7, '0'), 'reminder_1', 'Hei', 'gsm', 1, 0.5, 'NOK',
    'pending', 'scheduled', CAST(:at AS timestamptz), CAST(:at AS timestamptz),
    CAST(:at AS timestamptz) + interval '2 days', CAST(:newest AS timestamptz), false, 0
FROM generate_series(1, :count) AS i,
     (SELECT array_agg(id ORDER BY id) AS ids FROM clinic) AS c
"""

_APPOINTMENTS_SQL = """
INSERT INTO appointment (id, clinic_id, appointment_id, patient_id, practitioner, start_at,
    end_at, status, created_at, updated_at)
SELECT gen_random_uuid(), :clinic, 'D' || i, p.id, 'P' || (i % 7), start, start + interval
    '30 minutes', 'booked', :newest, :newest
FROM generate_series(0, 199) AS i,
     LATERAL (SELECT CAST(:day AS timestamptz) + interval '7 hours' + i * interval '3 minutes'
              AS start) AS s,
     LATERAL (SELECT id FROM patient WHERE clinic_id = :clinic
              AND patient_no = lpad(i::text, 6, '0')) AS p;
"""

_APPOINTMENT_MESSAGES_SQL = """
INSERT INTO message (
    id, clinic_id, patient_no, recipient_role, to_number, type, appointment_id,
    appointment_start_at, practitioner, text, encoding, segments, cost, currency, status,
    send_kind, send_after, next_attempt_at, expires_at, created_at, allow_reply, attempts)
SELECT gen_random_uuid(), a.clinic_id, lpad(i::text, 6, '0'), 'patient',
    '+479' || lpad(i::text, 7, '0'), kind, a.appointment_id, a.start_at, a.practitioner,
    'Hei', 'gsm', 1, 0.5, 'NOK', 'pending', 'scheduled', a.start_at - lead,
    a.start_at - lead, a.start_at, :newest, true, 0
FROM generate_series(0, 199) AS i
JOIN appointment AS a ON a.clinic_id = :clinic AND a.appointment_id = 'D' || i,
LATERAL (VALUES ('booking_confirmation', interval '14 days'),
                ('reminder_1', interval '2 days'), ('reminder_2', interval '1 day'))
    AS k(kind, lead);
"""


async def _execute(engine: AsyncEngine, sql: str, **parameters: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), parameters)


# What a kept database was filled with, so a later run (BENCH_KEEP=1) reuses it.
_STATE_SQL = """
CREATE TABLE bench_lists_state (
    messages integer NOT NULL, clinic uuid NOT NULL, api_key text NOT NULL,
    secrets_keys text NOT NULL)
"""


async def _kept(engine: AsyncEngine) -> tuple[uuid.UUID, str] | None:
    """The clinic and key of a kept database filled with as many messages, if it is one."""
    async with engine.connect() as connection:
        if not await connection.scalar(text("SELECT to_regclass('bench_lists_state')")):
            return None
        row = (await connection.execute(text("SELECT * FROM bench_lists_state"))).one()
    if row.messages != MESSAGES:
        raise SystemExit(f"the kept database holds {row.messages:,} messages: drop it or match")
    # Its provider credentials were sealed with this key.
    os.environ["SECRETS_KEYS"] = row.secrets_keys
    configure_secrets(SecretStr(row.secrets_keys))
    return row.clinic, row.api_key


async def populate(engine: AsyncEngine) -> tuple[uuid.UUID, str]:
    if (kept := await _kept(engine)) is not None:
        print(f"reusing the kept database of {MESSAGES:,} messages")
        return kept
    started = time.perf_counter()
    first, key = await create_clinic(patients=20_000)
    for _ in range(CLINICS - 1):
        await create_clinic(patients=0)
    await _execute(
        engine, _MESSAGES_SQL, clinics=CLINICS, count=MESSAGES, newest=NEWEST, first=first
    )
    await _execute(engine, _APPOINTMENTS_SQL, clinic=first, day=DAY, newest=NEWEST)
    await _execute(engine, _APPOINTMENT_MESSAGES_SQL, clinic=first, newest=NEWEST)
    await _execute(engine, "ANALYZE")
    await _execute(engine, _STATE_SQL)
    await _execute(
        engine,
        "INSERT INTO bench_lists_state VALUES (:messages, :clinic, :key, :secrets)",
        messages=MESSAGES,
        clinic=first,
        key=key,
        secrets=os.environ["SECRETS_KEYS"],
    )
    print(f"populated {MESSAGES:,} messages in {time.perf_counter() - started:.0f} s")
    return first, key


def _spread(label: str, seconds: list[float], target_ms: float) -> None:
    ordered = sorted(seconds)
    p99 = ordered[max(0, round(len(ordered) * 0.99) - 1)] * 1000
    p50 = statistics.median(ordered) * 1000
    verdict = "ok" if p99 <= target_ms else "OVER"
    print(f"  {label:<34} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  (target {target_ms:.0f}) {verdict}")


async def _timed(call: Callable[[], Awaitable[httpx.Response]], rounds: int) -> list[float]:
    for _ in range(3):  # warm-up
        await call()
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await call()
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return seconds


LIST_FILTERS: dict[str, dict[str, str]] = {
    "no filter": {},
    "status=failed": {"status": "failed"},
    "status=cancelled": {"status": "cancelled"},
    "type=marketing": {"type": "marketing"},
    "patient_no": {"patient_no": "001234"},
    "to": {"to": "+4790001234"},
    "practitioner": {"practitioner": "P3"},
    "appointment_id": {"appointment_id": "B300"},
    "created_from/created_to (a day)": {
        "created_from": "2026-06-01T00:00:00Z",
        "created_to": "2026-06-02T00:00:00Z",
    },
    "sent_from/sent_to (a day)": {
        "sent_from": "2026-06-01T00:00:00Z",
        "sent_to": "2026-06-02T00:00:00Z",
    },
    "scheduled_from/scheduled_to (a week)": {
        "scheduled_from": "2026-12-10T00:00:00Z",
        "scheduled_to": "2026-12-17T00:00:00Z",
    },
    "created_from (a year back)": {"created_from": "2025-12-01T00:00:00Z"},
    "sent_to (older than a month)": {"sent_to": "2026-11-01T00:00:00Z"},
}
SEARCHES = {
    "q=nordmann 1234": "nordmann 1234",
    "q=onsdag": "onsdag",
    "q=rare (no hit)": "zzzq",
    # In nine clinics' every message, in none of this one's.
    "q=storbyen (other clinics' word)": "storbyen",
}


def _lister(
    client: httpx.AsyncClient, path: str, params: dict[str, str], headers: dict[str, str]
) -> Callable[[], Awaitable[httpx.Response]]:
    async def call() -> httpx.Response:
        return await client.get(path, params=params, headers=headers)

    return call


async def api_phase(key: str, rounds: int) -> None:
    app = create_app(bench_settings())
    headers = {"Authorization": f"Bearer {key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            print(f"GET /v1/messages, 50 rows, {MESSAGES:,} messages in {CLINICS} clinics:")
            for label, params in LIST_FILTERS.items():
                query = {"limit": "50", **params}
                seconds = await _timed(_lister(client, "/v1/messages", query, headers), rounds)
                _spread(label, seconds, 20)
            for label, needle in SEARCHES.items():
                query = {"limit": "50", "q": needle}
                seconds = await _timed(_lister(client, "/v1/messages", query, headers), rounds)
                _spread(label, seconds, 100)
            day = {"date": DAY.isoformat()}
            seconds = await _timed(_lister(client, "/v1/appointments", day, headers), rounds)
            _spread("GET /v1/appointments?date= (200)", seconds, 30)


async def _sweep(session: AsyncSession, now: datetime) -> None:
    """The worker's sweep (app/messages/tasks.py), without its Redis wake-ups."""
    await expire_overdue(session, now=now)
    await settle_abandoned_sends(
        session,
        now=now,
        grace=timedelta(seconds=30),
        worker_dead_after=timedelta(seconds=60),
        longest_send=timedelta(seconds=1800),
    )
    await upcoming_send_times(session, now=now, horizon=WAKE_UP_HORIZON)


async def _sweep_and_claim(engine: AsyncEngine, now: datetime) -> tuple[float, float]:
    """One sweep and one claim of 1,000, rolled back so every round sees the same rows."""
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        started = time.perf_counter()
        await _sweep(session, now)
        swept = time.perf_counter()
        claimed, _ = await claim_due(session, now=now, limit=1000, worker_id="bench")
        elapsed = time.perf_counter() - swept
        await session.rollback()
    assert len(claimed) == 1000, len(claimed)
    return swept - started, elapsed


# The rows the queue phase adds (no patient_no), and the day's messages it sets aside.
_RESET_QUEUE = (
    "DELETE FROM message WHERE patient_no IS NULL AND text = 'Hei'",
    "UPDATE message SET status = 'pending' WHERE appointment_id LIKE 'D%' AND text = 'Hei'",
)


async def _reset_queue(engine: AsyncEngine) -> None:
    for sql in _RESET_QUEUE:
        await _execute(engine, sql)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE message"))


def _ms(seconds: list[float]) -> str:
    median = statistics.median(seconds) * 1000
    return f"median {median:6.1f} ms (min {min(seconds) * 1000:.1f}, max {max(seconds) * 1000:.1f})"


async def queue_phase(engine: AsyncEngine, rounds: int) -> None:
    await _reset_queue(engine)  # a kept database, after a run that stopped half-way
    try:
        await _queue_phase(engine, rounds)
    finally:
        await _reset_queue(engine)


async def _queue_phase(engine: AsyncEngine, rounds: int) -> None:
    await _execute(engine, "UPDATE message SET status = 'sent' WHERE status = 'pending'")
    now = NEWEST + timedelta(minutes=1)
    await _execute(engine, _PENDING_SQL, clinics=CLINICS, count=1000, at=NEWEST, newest=NEWEST)
    future = NEWEST + timedelta(days=30)
    costs = {}
    for label, count in (("1,000", 1000), ("1,000,000", MESSAGES - 1000)):
        await _execute(engine, _PENDING_SQL, clinics=CLINICS, count=count, at=future, newest=NEWEST)
        await _execute(engine, "ANALYZE message")
        timings = [await _sweep_and_claim(engine, now) for _ in range(rounds)]
        sweeps, claims = [t[0] for t in timings], [t[1] for t in timings]
        costs[label] = statistics.median(a + b for a, b in timings)
        print(f"1,000 due, {label} pending not due ({rounds} rounds):")
        print(f"  sweep          {_ms(sweeps)}")
        print(f"  claim of 1,000 {_ms(claims)}")
        print(f"  both           {_ms([a + b for a, b in timings])}")
    ratio = costs["1,000,000"] / costs["1,000"]
    print(f"ratio 1 M / 1 k: {ratio:.2f} (target <= 1.5) {'ok' if ratio <= 1.5 else 'OVER'}")
    await _explain(engine, "the claim", claim_statement(now, 1000, "bench", dialect="postgresql"))
    await _explain(engine, "the sweep's expiry", expire_statement(now))
    await _explain(engine, "the sweep's wake-up times", upcoming_statement(now, WAKE_UP_HORIZON))


async def _explain(engine: AsyncEngine, label: str, statement: Executable) -> None:
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with engine.connect() as connection:
        plan = await connection.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"))
        print(f"EXPLAIN (ANALYZE, BUFFERS) of {label}, 1 M pending (rolled back):")
        for (line,) in plan:
            print("  " + line)
        await connection.rollback()


async def main(rounds: int) -> None:
    engine = create_engine(bench_settings())
    try:
        _, key = await populate(engine)
        await api_phase(key, rounds)
        await queue_phase(engine, max(5, rounds // 20))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) > 2:  # a smaller table, to try the script out
        MESSAGES = int(sys.argv[2])
    fresh_database(keep=os.environ.get("BENCH_KEEP") == "1")
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
