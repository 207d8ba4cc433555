"""A dry run (`?dry_run=true`): the real creation code, in the request's transaction, then
a rollback instead of the commit.

So the answer is exactly the real one (the same recipients, texts, segments, cost and
skips, and the same refusals), built from the rows the real call would have stored.
Everything the call wrote goes with the rollback. Jobs (the worker's wake-ups, event
deliveries) are handed to arq only after a commit (`app.core.jobs`), so the buffered ones
are dropped with it: nothing is sent. The Idempotency-Key is neither consulted nor
recorded (the router skips it).
"""

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.service import get_clinic_settings
from app.core.db import in_batches
from app.core.jobs import take_pending_jobs
from app.messages.models import Message, message_table
from app.messages.schemas import BulkResult, CreatedMessage, MessagesCreated
from app.sms.schemas import Cost
from app.sms.service import money

DESCRIPTION = (
    "`true`: answer what the call would do (recipients, texts, segments, cost, skips) "
    "without storing or sending anything; 200, `dry_run: true`, message ids null. The "
    "Idempotency-Key is ignored: a dry run neither replays nor records an answer"
)


def would_be(message: Message) -> CreatedMessage:
    return CreatedMessage.of(message).model_copy(update={"id": None})


async def discard(session: AsyncSession) -> None:
    """Undo everything the request wrote, and the jobs it would have queued after commit."""
    await session.rollback()
    take_pending_jobs(session)


def created_preview(answer: MessagesCreated) -> MessagesCreated:
    data = [message.model_copy(update={"id": None}) for message in answer.data]
    return answer.model_copy(update={"data": data, "dry_run": True})


async def bulk_preview(
    session: AsyncSession, *, clinic_id: uuid.UUID, result: BulkResult
) -> BulkResult:
    """The bulk answer with each queued patient's would-be messages read back from the
    rows the real call stored (still in the transaction), and the totals."""
    ids = [message_id for outcome in result.outcomes for message_id in outcome.message_ids]
    stored: dict[uuid.UUID, Message] = {}
    for condition in in_batches(session, message_table.c.id, ids) if ids else ():
        rows = await session.execute(
            select(Message).where(condition, message_table.c.clinic_id == clinic_id)
        )
        stored |= {message.id: message for message in rows.scalars()}
    outcomes = [
        outcome.model_copy(
            update={
                "message_ids": [],
                "messages": [would_be(stored[message_id]) for message_id in outcome.message_ids],
            }
        )
        for outcome in result.outcomes
    ]
    settings = await get_clinic_settings(session, clinic_id)
    total = sum((message.cost for message in stored.values()), Decimal(0))
    return result.model_copy(
        update={
            "outcomes": outcomes,
            "dry_run": True,
            "segments": sum(message.segments for message in stored.values()),
            "cost": Cost(amount=money(total), currency=settings.currency),
        }
    )
