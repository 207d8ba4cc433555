"""Ending pending messages that may no longer go, with the reason: one guarded statement.

Only `pending` rows are touched: a message already `sending` is never changed (at most
once comes first)."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.messages.models import FailureReason, MessageStatus, message_table

_message = message_table.c
# The reasons a message can no longer go as it is: it fails. Any other reason is the
# patient's or the clinic's choice: the message is cancelled.
_FAILING = frozenset(
    {
        FailureReason.INVALID_NUMBER.value,
        FailureReason.TOO_LONG.value,
        FailureReason.UNSUPPORTED_CHARACTERS.value,
    }
)


async def end_pending(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], reason: str, now: datetime
) -> list[uuid.UUID]:
    """Cancel (or, when it cannot go as it is, fail) these messages, with the reason;
    answers the ids of those ended."""
    if reason in _FAILING:
        values: dict[str, Any] = {"status": MessageStatus.FAILED, "failed_at": now}
    else:
        values = {"status": MessageStatus.CANCELLED, "cancelled_at": now}
    result = await session.execute(
        update(message_table)
        .where(*where, _message.status == MessageStatus.PENDING)
        .values(failure_reason=reason, **values)
        .returning(_message.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())
