"""The send loop: claim due messages in batches, hand them to providers, record results.

At most once (DESIGN §10): a message is committed as `sending` before any provider call,
no transaction is open during the call, and only failures that prove nothing was accepted
put it back to `pending`. A timeout after the request went out, or a worker that died
with the message in `sending`, ends as sent with delivery `unknown`, never a second send.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clinic_settings.models import ClinicSettings, clinic_settings_table
from app.clinic_settings.service import send_window_rules
from app.clinics.models import Clinic
from app.core.db import bulk_update
from app.core.jobs import PendingJob, enqueue_after_commit, take_pending_jobs
from app.events.messages import record_message_status_events
from app.messages.models import DeliveryState, FailureReason, MessageStatus, message_table
from app.messages.wakeups import dispatch_job
from app.messages.window import SendKind, SendTime, compute_send_time, is_paused, stretch_end
from app.providers.base import (
    EXPIRED_CODE,
    OUT_OF_TIME_CODE,
    PAUSED_CODE,
    Accepted,
    Failed,
    FailureKind,
    OutboundSms,
    SendResult,
    SmsProvider,
    too_late,
)
from app.providers.registry import sender_for
from app.worker.models import WorkerStatus

logger = logging.getLogger(__name__)

RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=15),
)
MAX_ATTEMPTS = 10

ADAPTER_FAILURE = Failed(FailureKind.UNKNOWN_OUTCOME, "provider adapter error")

_message = message_table.c
_settings = clinic_settings_table.c


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: uuid.UUID
    clinic_id: uuid.UUID
    to_number: str
    text: str
    allow_reply: bool
    expires_at: datetime
    attempts: int


@dataclass
class Outcome:
    """What one batch came to, grouped for one executemany each."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    retry: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.accepted) + len(self.unknown) + len(self.failed) + len(self.retry)


@dataclass
class DispatchStats:
    claimed: int = 0
    accepted: int = 0
    unknown: int = 0
    failed: int = 0
    retried: int = 0

    def add(self, other: "DispatchStats") -> None:
        self.claimed += other.claimed
        self.accepted += other.accepted
        self.unknown += other.unknown
        self.failed += other.failed
        self.retried += other.retried


ProviderBuilder = Callable[[ClinicSettings, str], SmsProvider]
"""Builds the adapter for a clinic from its settings and its webhook secret."""


async def _settings_of(
    session: AsyncSession, clinic_ids: set[uuid.UUID]
) -> dict[uuid.UUID, ClinicSettings]:
    rows = await session.execute(select(ClinicSettings).where(_settings.clinic_id.in_(clinic_ids)))
    return {row.clinic_id: row for row in rows.scalars()}


async def _webhook_secrets(
    session: AsyncSession, clinic_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(col(Clinic.id), col(Clinic.webhook_secret)).where(col(Clinic.id).in_(clinic_ids))
    )
    return dict(rows.all())


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, worker_id: str
) -> tuple[list[ClaimedMessage], dict[uuid.UUID, ClinicSettings]]:
    """Mark up to `limit` due messages `sending` in one statement; give back paused ones."""
    # A materialized CTE runs the locking SELECT once; an IN (subquery … LIMIT) may be
    # re-run by PostgreSQL and, with SKIP LOCKED, claim more rows than the limit.
    due = (
        select(_message.id)
        .join(clinic_settings_table, _settings.clinic_id == _message.clinic_id)
        .where(
            _message.status == MessageStatus.PENDING,
            _message.next_attempt_at <= now,
            _message.expires_at > now,
            _message.to_number.is_not(None),
            _settings.sms_enabled.is_(True),
        )
        .order_by(_message.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=message_table)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claim = (
        update(message_table)
        .where(_message.id == due.c.id, _message.status == MessageStatus.PENDING)
        .values(
            status=MessageStatus.SENDING,
            claimed_at=now,
            claimed_by=worker_id,
            attempts=_message.attempts + 1,
            # Known before the provider call: a report for it, even one that comes before
            # the send is recorded or after the sweep settled it, is checked against it.
            provider=select(_settings.provider)
            .where(_settings.clinic_id == _message.clinic_id)
            .scalar_subquery(),
        )
        .returning(
            _message.id,
            _message.clinic_id,
            _message.to_number,
            _message.text,
            _message.allow_reply,
            _message.expires_at,
            _message.attempts,
        )
    )
    claimed = [ClaimedMessage(*row) for row in await session.execute(claim)]
    if not claimed:
        return [], {}
    settings = await _settings_of(session, {message.clinic_id for message in claimed})
    paused = {
        clinic_id
        for clinic_id, row in settings.items()
        if is_paused(now, send_window_rules(row), ZoneInfo(row.time_zone))
    }
    if paused:
        await _give_back_paused(session, claimed, settings, paused, now)
    return [m for m in claimed if m.clinic_id not in paused], settings


async def _give_back_paused(
    session: AsyncSession,
    claimed: Sequence[ClaimedMessage],
    settings: dict[uuid.UUID, ClinicSettings],
    paused: set[uuid.UUID],
    now: datetime,
) -> None:
    """A due message whose clinic is paused right now waits for the next stretch."""
    outcome = Outcome()
    for message in claimed:
        if message.clinic_id in paused:
            _plan_later(outcome, message, settings[message.clinic_id], now, now, undo_attempt=True)
    await _record(session, outcome, provider_name=None, now=now)


def _plan_later(
    outcome: Outcome,
    message: ClaimedMessage,
    settings: ClinicSettings,
    earliest: datetime,
    now: datetime,
    *,
    undo_attempt: bool = False,
    detail: str | None = None,
) -> None:
    decision = compute_send_time(
        due=earliest,
        expires_at=message.expires_at,
        kind=SendKind.FLEXIBLE,
        rules=send_window_rules(settings),
        tz=ZoneInfo(settings.time_zone),
        now=now,
    )
    attempts = message.attempts - 1 if undo_attempt else message.attempts
    if isinstance(decision, SendTime) and attempts < MAX_ATTEMPTS:
        outcome.retry.append(
            {
                "id": message.id,
                "next_attempt_at": decision.at,
                "attempts": attempts,
                "failure_detail": detail,
            }
        )
    else:
        reason = FailureReason.RETRIES_EXHAUSTED if detail else FailureReason.EXPIRED
        outcome.failed.append(
            {"id": message.id, "failure_reason": reason.value, "failure_detail": detail}
        )


def _outbound(
    message: ClaimedMessage, settings: ClinicSettings, pause_begins: datetime
) -> OutboundSms | Failed:
    sender = sender_for(settings, message.allow_reply)
    if sender is None:
        return Failed(FailureKind.PERMANENT, "no sender name or reply number is configured")
    return OutboundSms(
        message_id=str(message.id),
        to=message.to_number,
        text=message.text,
        sender=sender[0],
        sender_kind=sender[1],
        expires_at=message.expires_at,
        send_by=min(message.expires_at, pause_begins),
    )


async def _send_for_clinic(
    provider: SmsProvider,
    messages: Sequence[ClaimedMessage],
    settings: ClinicSettings,
    now: Callable[[], datetime],
) -> list[SendResult]:
    started = now()
    rules, tz = send_window_rules(settings), ZoneInfo(settings.time_zone)
    pause_begins = stretch_end(started, rules, tz) or started
    prepared = [_outbound(message, settings, pause_begins) for message in messages]
    outbound = [item for item in prepared if isinstance(item, OutboundSms)]
    sent: list[SendResult] = []
    for start in range(0, len(outbound), provider.max_batch_size):
        chunk = outbound[start : start + provider.max_batch_size]
        sent += await _send_chunk(provider, chunk, now())
    answers = iter(sent)
    return [item if isinstance(item, Failed) else next(answers) for item in prepared]


async def _send_chunk(
    provider: SmsProvider, chunk: Sequence[OutboundSms], now: datetime
) -> list[SendResult]:
    """One provider call; messages whose window closed while earlier chunks went are kept back."""
    results: dict[int, SendResult] = {
        index: late for index, sms in enumerate(chunk) if (late := too_late(sms, now))
    }
    live = [sms for index, sms in enumerate(chunk) if index not in results]
    answers: list[SendResult] = []
    if live:
        try:
            answers = await provider.send_batch(live)
        except Exception:
            # The request may have gone out: at most once means never retrying these.
            logger.exception("provider %s raised; outcome unknown", provider.name)
        if len(answers) != len(live):
            answers = [ADAPTER_FAILURE] * len(live)
    remaining = iter(answers)
    return [results.get(index) or next(remaining) for index in range(len(chunk))]


def _classify(
    outcome: Outcome,
    message: ClaimedMessage,
    result: SendResult,
    settings: ClinicSettings,
    now: datetime,
) -> None:
    if isinstance(result, Accepted):
        outcome.accepted.append(
            {"id": message.id, "provider_message_id": result.provider_message_id}
        )
    elif result.kind is FailureKind.UNKNOWN_OUTCOME:
        outcome.unknown.append({"id": message.id, "failure_detail": result.reason})
    elif result.code == PAUSED_CODE:
        _plan_later(outcome, message, settings, now, now, undo_attempt=True)
    elif result.code == OUT_OF_TIME_CODE:  # never tried: back off, but not an attempt
        _plan_later(outcome, message, settings, now + RETRY_DELAYS[0], now, undo_attempt=True)
    elif result.kind is FailureKind.PERMANENT:
        reason = (
            FailureReason.EXPIRED
            if result.code == EXPIRED_CODE
            else FailureReason.PROVIDER_REJECTED
        )
        outcome.failed.append(
            {
                "id": message.id,
                "failure_reason": reason.value,
                "failure_detail": result.reason,
            }
        )
    else:
        delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
        _plan_later(outcome, message, settings, now + delay, now, detail=result.reason)


async def _record(
    session: AsyncSession, outcome: Outcome, *, provider_name: str | None, now: datetime
) -> None:
    """One statement per kind of result for the whole batch, each guarded by `sending`."""
    sending = [_message.status == MessageStatus.SENDING]
    sent = {"status": MessageStatus.SENT, "sent_at": now, "provider": provider_name}
    await bulk_update(
        session,
        message_table,
        outcome.accepted,
        where=sending,
        values=sent | {"delivery": _delivery_unless_final(DeliveryState.ACCEPTED)},
    )
    await bulk_update(
        session,
        message_table,
        outcome.unknown,
        where=sending,
        values=sent | {"delivery": _delivery_unless_final(DeliveryState.UNKNOWN)},
    )
    await bulk_update(
        session,
        message_table,
        outcome.failed,
        where=sending,
        values={"status": MessageStatus.FAILED, "failed_at": now},
    )
    await bulk_update(
        session,
        message_table,
        outcome.retry,
        where=sending,
        values={"status": MessageStatus.PENDING},
    )
    finished = [row["id"] for row in (*outcome.accepted, *outcome.unknown, *outcome.failed)]
    await record_message_status_events(session, await _changed_now(session, finished, now), now=now)
    for job in {dispatch_job(row["next_attempt_at"], now) for row in outcome.retry}:
        enqueue_after_commit(session, job)


async def _changed_now(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Those the guarded updates above changed: a message the sweep settled meanwhile
    (sent with its claim time) was announced by the sweep already."""
    if not message_ids:
        return []
    rows = await session.execute(
        select(_message.id).where(
            _message.id.in_(message_ids), or_(_message.sent_at == now, _message.failed_at == now)
        )
    )
    return list(rows.scalars())


def _delivery_unless_final(state: DeliveryState) -> Any:
    """A delivery report may have arrived first (the sandbox, a fast provider): keep it."""
    return case((_message.delivery.is_(None), state.value), else_=_message.delivery)


async def dispatch_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: Callable[[], datetime],
    provider_for: ProviderBuilder,
    limit: int,
    after_commit: Callable[[list[PendingJob]], Awaitable[None]],
    worker_id: str,
) -> DispatchStats:
    """Claim one batch, send it, record it. Answers what happened."""
    async with sessionmaker() as session, session.begin():
        claimed, settings = await claim_due(session, now=now(), limit=limit, worker_id=worker_id)
        secrets = await _webhook_secrets(session, set(settings))
        jobs = take_pending_jobs(session)
    await after_commit(jobs)
    stats = DispatchStats(claimed=len(claimed))
    if not claimed:
        return stats
    by_clinic: dict[uuid.UUID, list[ClaimedMessage]] = defaultdict(list)
    for message in claimed:
        by_clinic[message.clinic_id].append(message)
    providers = {
        clinic_id: provider_for(settings[clinic_id], secrets[clinic_id]) for clinic_id in by_clinic
    }
    results = await asyncio.gather(
        *(
            _send_for_clinic(providers[clinic_id], messages, settings[clinic_id], now)
            for clinic_id, messages in by_clinic.items()
        )
    )
    finished = now()
    outcomes = {
        clinic_id: _outcome_of(messages, clinic_results, settings[clinic_id], finished)
        for (clinic_id, messages), clinic_results in zip(by_clinic.items(), results, strict=True)
    }
    names = {clinic_id: provider.name for clinic_id, provider in providers.items()}
    jobs = await _record_with_retry(sessionmaker, outcomes, names, finished)
    await after_commit(jobs)
    for outcome in outcomes.values():
        stats.accepted += len(outcome.accepted)
        stats.unknown += len(outcome.unknown)
        stats.failed += len(outcome.failed)
        stats.retried += len(outcome.retry)
    return stats


def _outcome_of(
    messages: Sequence[ClaimedMessage],
    results: Sequence[SendResult],
    settings: ClinicSettings,
    now: datetime,
) -> Outcome:
    outcome = Outcome()
    for message, result in zip(messages, results, strict=True):
        _classify(outcome, message, result, settings, now)
    return outcome


RECORD_ATTEMPTS = 3


async def _record_with_retry(
    sessionmaker: async_sessionmaker[AsyncSession],
    outcomes: dict[uuid.UUID, Outcome],
    provider_names: dict[uuid.UUID, str],
    now: datetime,
) -> list[PendingJob]:
    """The results must land: a lost record leaves sent messages to be settled as unknown.
    Any database error (a locked SQLite file; on PostgreSQL a deadlock, a serialization
    failure or a dropped connection, which asyncpg reports as plain DBAPIError) gets two
    more tries."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            async with sessionmaker() as session, session.begin():
                for clinic_id, outcome in outcomes.items():
                    await _record(
                        session, outcome, provider_name=provider_names[clinic_id], now=now
                    )
                return take_pending_jobs(session)
        except DBAPIError:
            if attempt == RECORD_ATTEMPTS:
                raise
            logger.warning("recording a batch failed (attempt %d); retrying", attempt)
            await asyncio.sleep(0.2 * attempt)
    return []


async def expire_overdue(session: AsyncSession, *, now: datetime) -> int:
    """Pending messages whose window has closed fail as `expired`: never sent late."""
    result = await session.execute(
        update(message_table)
        .where(_message.status == MessageStatus.PENDING, _message.expires_at <= now)
        .values(status=MessageStatus.FAILED, failure_reason=FailureReason.EXPIRED, failed_at=now)
        .returning(_message.id)
    )
    expired = list(result.scalars())
    await record_message_status_events(session, expired, now=now)
    return len(expired)


async def settle_abandoned_sends(
    session: AsyncSession,
    *,
    now: datetime,
    grace: timedelta,
    worker_dead_after: timedelta,
    longest_send: timedelta,
) -> int:
    """A message left in `sending` may have gone out: it becomes sent, delivery unknown.

    Left means: claimed more than `grace` ago by a worker whose heartbeat has stopped, or
    claimed longer ago than any send may take. A live, slow worker keeps its claims."""
    live_workers = select(col(WorkerStatus.worker_id)).where(
        col(WorkerStatus.last_beat_at) > now - worker_dead_after
    )
    abandoned = or_(
        _message.claimed_by.is_(None),
        _message.claimed_by.not_in(live_workers.scalar_subquery()),
        _message.claimed_at <= now - longest_send,
    )
    result = await session.execute(
        update(message_table)
        .where(
            _message.status == MessageStatus.SENDING,
            _message.claimed_at <= now - grace,
            abandoned,
        )
        .values(
            status=MessageStatus.SENT,
            sent_at=_message.claimed_at,
            delivery=_delivery_unless_final(DeliveryState.UNKNOWN),
            failure_detail="the worker stopped while sending; the provider's answer was lost",
        )
        .returning(_message.id)
    )
    settled = list(result.scalars())
    await record_message_status_events(session, settled, now=now)
    return len(settled)


async def upcoming_send_times(
    session: AsyncSession, *, now: datetime, horizon: timedelta, limit: int = 1000
) -> list[datetime]:
    """Distinct send times due soon, to wake the worker for them again (Redis may be new)."""
    rows = await session.execute(
        select(_message.next_attempt_at)
        .where(_message.status == MessageStatus.PENDING, _message.next_attempt_at <= now + horizon)
        .distinct()
        .order_by(_message.next_attempt_at)
        .limit(limit)
    )
    return [max(moment, now) for moment in rows.scalars()]
