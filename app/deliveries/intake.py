"""Taking delivery reports fast: requests arriving together share one transaction.

A provider posts one report per request (LINK: one per part), thousands a second after a
large send. A transaction of their own would cost each request a connection check-out, a
clinic look-up, an insert and a commit: a few milliseconds of CPU in the async driver
stack, a few hundred reports a second. Here a request hands its parsed reports over and
waits; one writer takes everything waiting, resolves the clinics' secrets, inserts all
rows (duplicates skipped) and commits, then answers each request with what it stored. A
200 still means the report is committed. While a batch is written the next one gathers.
"""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select

from app.clinics.models import Clinic
from app.core.inserts import insert_new
from app.core.jobs import push_jobs
from app.deliveries.models import delivery_report_table
from app.deliveries.reports import REPORT_KEY, ParsedReport, apply_job, report_row

logger = logging.getLogger(__name__)

MAX_BATCH_ROWS = 1000


@dataclass
class _Submission:
    secret: str
    provider: str
    reports: Sequence[ParsedReport]
    now: datetime
    answer: asyncio.Future[int | None]
    row_ids: list[uuid.UUID] = field(default_factory=list)


class ReportIntake:
    """One per API process (created in the app's lifespan)."""

    def __init__(self, engine: AsyncEngine, redis: ArqRedis | None) -> None:
        self._engine = engine
        self._redis = redis
        self._waiting: list[_Submission] = []
        self._writer: asyncio.Task[None] | None = None
        self._last_wake_up: int | None = None

    async def store(
        self, *, secret: str, provider: str, reports: Sequence[ParsedReport], now: datetime
    ) -> int | None:
        """How many of the reports were new; None when no clinic has this secret."""
        answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Submission(secret, provider, reports, now, answer))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await answer

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                try:
                    async with self._engine.connect() as connection:
                        await self._write_burst(connection)
                except Exception as exc:  # no connection: what waits now fails (5xx)
                    _fail(self._take_batch(), exc)
        finally:
            self._writer = None

    async def _write_burst(self, connection: AsyncConnection) -> None:
        """Batch after batch on one connection while reports keep coming (no check-out per
        batch); a failed batch ends the burst, and the next starts on a fresh connection."""
        while self._waiting:
            batch = self._take_batch()
            try:
                await self._write(connection, batch)
            except Exception as exc:
                await self._write_one_by_one(connection, batch, exc)
                return

    async def _write_one_by_one(
        self, connection: AsyncConnection, batch: list[_Submission], exc: Exception
    ) -> None:
        """One request's bad report must not fail the others it shared a batch with (other
        clinics' among them): each is tried again alone."""
        if len(batch) == 1:
            _fail(batch, exc)
            return
        for submission in batch:
            try:
                await self._write(connection, [submission])
            except Exception as own:
                _fail([submission], own)

    async def _write(self, connection: AsyncConnection, batch: list[_Submission]) -> None:
        async with connection.begin():
            clinics = await _clinics_by_secret(connection, {s.secret for s in batch})
            rows = _rows(batch, clinics)
            inserted = set(
                await insert_new(connection, delivery_report_table, rows, unique=REPORT_KEY)
            )
        _answer(batch, clinics, inserted)
        if inserted:
            await self._wake_up(max(s.now for s in batch))

    def _take_batch(self) -> list[_Submission]:
        batch: list[_Submission] = []
        rows = 0
        while self._waiting:
            size = len(self._waiting[0].reports)
            if batch and rows + size > MAX_BATCH_ROWS:
                break
            batch.append(self._waiting.pop(0))
            rows += size
        return batch

    async def _wake_up(self, now: datetime) -> None:
        """One apply job per second per process: more Redis round trips would cost more
        than the inserts."""
        second = int(now.timestamp())
        if self._last_wake_up != second:
            self._last_wake_up = second
            await push_jobs(self._redis, [apply_job(now)], now=now)


def _answer(batch: list[_Submission], clinics: dict[str, uuid.UUID], inserted: set[Any]) -> None:
    for submission in batch:
        if submission.answer.done():  # the request went away; its rows are stored
            continue
        known = submission.secret in clinics
        submission.answer.set_result(
            len(inserted.intersection(submission.row_ids)) if known else None
        )


def _fail(batch: list[_Submission], exc: Exception) -> None:
    for submission in batch:
        if not submission.answer.done():
            submission.answer.set_exception(exc)


def _rows(batch: list[_Submission], clinics: dict[str, uuid.UUID]) -> list[dict[str, Any]]:
    """The rows to insert; each submission notes its own, to count what was new."""
    rows = []
    for submission in batch:
        submission.row_ids.clear()  # a batch that failed may be tried again one by one
        clinic_id = clinics.get(submission.secret)
        if clinic_id is None:
            continue
        for report in _ours(submission):
            row = report_row(
                report, clinic_id=clinic_id, provider=submission.provider, now=submission.now
            )
            submission.row_ids.append(row["id"])
            rows.append(row)
    return rows


def _ours(submission: _Submission) -> list[ParsedReport]:
    for report in submission.reports:
        if report.message_id is None:
            logger.warning(
                "delivery report without our message id; acknowledged",
                extra={"provider": submission.provider, "external_id": report.external_id},
            )
    return [report for report in submission.reports if report.message_id is not None]


async def _clinics_by_secret(
    connection: AsyncConnection, secrets: set[str]
) -> dict[str, uuid.UUID]:
    secret = col(Clinic.webhook_secret)
    rows = await connection.execute(select(secret, col(Clinic.id)).where(secret.in_(secrets)))
    return dict(rows.all())
