"""More workers send more, and never twice: 1 worker against 4, on one PostgreSQL.

Two clinics of 10,000 patients each use the LINK adapter against the stand-in LINK server
(`bench/link_server.py`, its own process, counting every refId it takes). In each of R
rounds (default 3), 20,000 messages are queued (one bulk POST per clinic), then sent by
1 and by 4 real worker processes (`python -m app.worker`), in alternating order so
neither always meets the larger table. Printed: messages per second from all due at
once (the workers started and beating) to recorded as sent; duplicates at the stand-in
(messages it took minus distinct refIds: target 0); the 4-to-1 ratio (target ≥ 1.5×);
and each worker's peak RSS (VmHWM, target ≤ 150 MB).

Run: `.venv/bin/python -m bench.bench_scaleout [R]`. Uses BENCH_DATABASE_URL (dropped and
recreated) and BENCH_REDIS_URL, like the other benchmarks.
"""

import asyncio
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from app.worker.models import WorkerStatus
from bench import link_server
from bench.common import create_clinic, fresh_database, peak_rss_mib, wait_until, worker_process
from bench.sending import (
    make_due,
    polling,
    queue,
    scalar,
    sent_count,
    spread,
    standin_counts,
    use_link,
)

PATIENTS = 10_000
CLINICS = 2
MESSAGES = PATIENTS * CLINICS


async def one_run(workers: int, keys: list[str], link_url: str) -> tuple[float, int, float]:
    """Messages per second, duplicates, and the largest peak RSS of the workers (MiB).

    The messages are queued for later, the workers started, and once all beat, every
    message is made due at once: neither the bulk POSTs nor the start-up are measured."""
    before_sent = await sent_count()
    taken_before, distinct_before = await standin_counts(link_url)
    await queue(keys, PATIENTS, send_after=datetime.now(UTC) + timedelta(hours=1))
    with ExitStack() as stack:
        pids = [
            stack.enter_context(worker_process(LINKMOBILITY_BASE_URL=link_url)).pid
            for _ in range(workers)
        ]

        async def all_ready() -> bool:
            ready = select(func.count()).where(col(WorkerStatus.pid).in_(pids))
            return bool(await scalar(ready) >= workers)

        await wait_until(all_ready, within=60)
        async with polling() as poll:
            due = await make_due()
            done = await wait_until(poll.all_sent, within=600)
        peak = max(peak_rss_mib(pid) for pid in pids)
    assert await sent_count() == before_sent + MESSAGES, "every message of the run is sent"
    taken, distinct = await standin_counts(link_url)
    assert taken - taken_before >= MESSAGES, "every message reached the stand-in"
    return MESSAGES / (done - due), (taken - taken_before) - (distinct - distinct_before), peak


async def run(rounds: int) -> None:
    keys = []
    for _ in range(CLINICS):
        clinic_id, key = await create_clinic(PATIENTS)
        await use_link(clinic_id)
        keys.append(key)
    server, link_url = link_server.start()
    rates: dict[int, list[float]] = {1: [], 4: []}
    peaks: list[float] = []
    duplicates = 0
    try:
        for round_ in range(1, rounds + 1):
            for workers in (1, 4) if round_ % 2 else (4, 1):
                rate, twice, peak = await one_run(workers, keys, link_url)
                rates[workers].append(rate)
                peaks.append(peak)
                duplicates += twice
                print(
                    f"round {round_}, {workers} worker(s): {MESSAGES:,} messages, "
                    f"{rate:,.0f}/s, {twice} sent twice, peak RSS {peak:.0f} MiB"
                )
    finally:
        server.terminate()
        server.join()
    ratios = [four / one for one, four in zip(rates[1], rates[4], strict=True)]
    print(f"1 worker: {spread(rates[1], '/s')}")
    print(f"4 workers: {spread(rates[4], '/s')}")
    print(f"4 workers / 1, same round: {spread(ratios, 'x', 2)}")
    print(f"messages sent twice (taken by the stand-in minus distinct refIds): {duplicates}")
    print(f"worker peak RSS under load (VmHWM, largest per run): {spread(peaks, ' MiB')}")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    fresh_database()
    asyncio.run(run(rounds))


if __name__ == "__main__":
    main()
