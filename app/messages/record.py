"""Recording what a batch came to: one guarded statement per kind of result, retried when
the database fails, and the back-off for messages that go back to `pending`."""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, or_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import send_window_rules
from app.core.db import bulk_update
from app.core.jobs import PendingJob, enqueue_after_commit, take_pending_jobs
from app.events.messages import record_message_status_events
from app.failover.circuit import CircuitPolicy
from app.failover.store import ProviderHealth, record_health
from app.messages.models import DeliveryState, FailureReason, MessageStatus, message_table
from app.messages.wakeups import dispatch_job
from app.messages.window import SendKind, SendTime, compute_send_time
from app.providers.base import (
    EXPIRED_CODE,
    NOT_TRIED_CODE,
    OUT_OF_TIME_CODE,
    PAUSED_CODE,
    Accepted,
    FailureKind,
    SendResult,
)

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

_message = message_table.c


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: uuid.UUID
    clinic_id: uuid.UUID
    to_number: str
    text: str
    allow_reply: bool
    expires_at: datetime
    attempts: int
    type: str
    # What the spending caps count (app.caps.enforce).
    cost: Decimal
    patient_id: uuid.UUID | None


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


def plan_later(
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


def classify(
    outcome: Outcome,
    message: ClaimedMessage,
    result: SendResult,
    settings: ClinicSettings,
    now: datetime,
    provider: str,
) -> None:
    """`provider` gave the result: the one that took the message, or may have."""
    if isinstance(result, Accepted):
        outcome.accepted.append(
            {
                "id": message.id,
                "provider_message_id": result.provider_message_id,
                "provider": provider,
            }
        )
    elif result.kind is FailureKind.UNKNOWN_OUTCOME:
        outcome.unknown.append(
            {"id": message.id, "failure_detail": result.reason, "provider": provider}
        )
    elif result.code == PAUSED_CODE:
        plan_later(outcome, message, settings, now, now, undo_attempt=True)
    elif result.code in (OUT_OF_TIME_CODE, NOT_TRIED_CODE):  # never tried: not an attempt
        plan_later(outcome, message, settings, now + RETRY_DELAYS[0], now, undo_attempt=True)
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
        plan_later(outcome, message, settings, now + delay, now, detail=result.reason)


async def record(session: AsyncSession, outcome: Outcome, *, now: datetime) -> None:
    """One statement per kind of result for the whole batch, each guarded by `sending`."""
    sending = [_message.status == MessageStatus.SENDING]
    sent = {"status": MessageStatus.SENT, "sent_at": now}
    await bulk_update(
        session,
        message_table,
        outcome.accepted,
        where=sending,
        values=sent | {"delivery": delivery_unless_final(DeliveryState.ACCEPTED)},
    )
    await bulk_update(
        session,
        message_table,
        outcome.unknown,
        where=sending,
        values=sent | {"delivery": delivery_unless_final(DeliveryState.UNKNOWN)},
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
    # Those the guarded updates above changed: a message the sweep settled meanwhile (sent
    # with its claim time) was announced by the sweep already.
    changed_now = or_(_message.sent_at == now, _message.failed_at == now)
    await record_message_status_events(session, finished, now=now, only=changed_now)
    for job in {dispatch_job(row["next_attempt_at"], now) for row in outcome.retry}:
        enqueue_after_commit(session, job)


def delivery_unless_final(state: DeliveryState) -> Any:
    """A delivery report may have arrived first (the sandbox, a fast provider): keep it."""
    return case((_message.delivery.is_(None), state.value), else_=_message.delivery)


def outcome_of(
    messages: Sequence[ClaimedMessage],
    results: Sequence[SendResult],
    settings: ClinicSettings,
    now: datetime,
    providers: Sequence[str],
) -> Outcome:
    outcome = Outcome()
    for message, result, provider in zip(messages, results, providers, strict=True):
        classify(outcome, message, result, settings, now, provider)
    return outcome


RECORD_ATTEMPTS = 3


async def record_with_retry(
    sessionmaker: async_sessionmaker[AsyncSession],
    outcomes: dict[uuid.UUID, Outcome],
    now: datetime,
    *,
    health: Sequence[ProviderHealth] = (),
    policy: CircuitPolicy = CircuitPolicy(),
) -> list[PendingJob]:
    """The results must land: a lost record leaves sent messages to be settled as unknown.
    Any database error (a locked SQLite file; on PostgreSQL a deadlock, a serialization
    failure or a dropped connection, which asyncpg reports as plain DBAPIError) gets two
    more tries. The providers' circuits change in the same transaction."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            async with sessionmaker() as session, session.begin():
                for outcome in outcomes.values():
                    await record(session, outcome, now=now)
                await record_health(session, health, policy=policy, now=now)
                return take_pending_jobs(session)
        except DBAPIError:
            if attempt == RECORD_ATTEMPTS:
                raise
            logger.warning("recording a batch failed (attempt %d); retrying", attempt)
            await asyncio.sleep(0.2 * attempt)
    return []
