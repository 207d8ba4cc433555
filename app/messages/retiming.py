"""When a clinic changes its pause rules or time zone, pending messages move with them."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import bulk_update
from app.core.jobs import enqueue_after_commit
from app.messages.models import MessageStatus, message_table
from app.messages.wakeups import dispatch_job
from app.messages.window import PauseRules, SendKind, SendTime, compute_send_time

_message = message_table.c


async def retime_pending(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    rules: PauseRules,
    tz: ZoneInfo,
    now: datetime,
) -> int:
    """Give each untried pending message the send time the new rules give it: sooner when
    a pause was lifted, later (or earlier, for appointment reminders) when one was added.

    Messages waiting to retry keep their back-off. One the new rules leave no time for
    keeps its time; the worker finds it paused then and lets it expire.
    """
    untried = [
        _message.clinic_id == clinic_id,
        _message.status == MessageStatus.PENDING,
        _message.attempts == 0,
    ]
    rows = await session.execute(
        select(
            _message.id,
            _message.send_after,
            _message.expires_at,
            _message.send_kind,
            _message.next_attempt_at,
        ).where(*untried)
    )
    decided: dict[tuple[datetime, datetime, str], SendTime | None] = {}
    moves: dict[uuid.UUID, datetime] = {}
    for message_id, send_after, expires_at, kind, current in rows:
        key = (send_after, expires_at, kind)  # a bulk send shares them: decide once
        if key not in decided:
            decision = compute_send_time(
                due=send_after,
                expires_at=expires_at,
                kind=SendKind(kind),
                rules=rules,
                tz=tz,
                now=now,
            )
            decided[key] = decision if isinstance(decision, SendTime) else None
        new_time = decided[key]
        if new_time is not None and new_time.at != current:
            moves[message_id] = new_time.at
    rows_to_move = [{"id": key, "next_attempt_at": at} for key, at in moves.items()]
    await bulk_update(session, message_table, rows_to_move, where=untried)
    for job in {dispatch_job(at, now) for at in moves.values()}:
        enqueue_after_commit(session, job)
    return len(moves)
