"""The sweep's work on messages: expire overdue ones, settle abandoned sends, and find the
send times due soon so the worker is woken for them again."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Update, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.events.messages import record_message_status_events
from app.messages.models import DeliveryState, FailureReason, MessageStatus, message_table
from app.messages.record import delivery_unless_final
from app.worker.models import WorkerStatus

_message = message_table.c


def expire_statement(now: datetime) -> Update:
    """Fails pending messages whose window has closed; reads only those (ix_message_expiry)."""
    return (
        update(message_table)
        .where(_message.status == MessageStatus.PENDING, _message.expires_at <= now)
        .values(status=MessageStatus.FAILED, failure_reason=FailureReason.EXPIRED, failed_at=now)
        .returning(_message.id)
    )


async def expire_overdue(session: AsyncSession, *, now: datetime) -> int:
    """Pending messages whose window has closed fail as `expired`: never sent late."""
    result = await session.execute(expire_statement(now))
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
            delivery=delivery_unless_final(DeliveryState.UNKNOWN),
            failure_detail="the worker stopped while sending; the provider's answer was lost",
        )
        .returning(_message.id)
    )
    settled = list(result.scalars())
    await record_message_status_events(session, settled, now=now)
    return len(settled)


def upcoming_statement(now: datetime, horizon: timedelta, limit: int = 1000) -> Select[Any]:
    """Distinct send times of pending messages due within `horizon` (ix_message_due)."""
    return (
        select(_message.next_attempt_at)
        .where(_message.status == MessageStatus.PENDING, _message.next_attempt_at <= now + horizon)
        .distinct()
        .order_by(_message.next_attempt_at)
        .limit(limit)
    )


async def upcoming_send_times(
    session: AsyncSession, *, now: datetime, horizon: timedelta, limit: int = 1000
) -> list[datetime]:
    """Distinct send times due soon, to wake the worker for them again (Redis may be new)."""
    rows = await session.execute(upcoming_statement(now, horizon, limit))
    return [max(moment, now) for moment in rows.scalars()]
