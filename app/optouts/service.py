"""Numbers that answered STOPP (DESIGN §5): no marketing or offers go to them, whether the
number is a patient's or given as a bare `to`, until they answer START."""

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import in_batches
from app.core.inserts import insert_new
from app.core.models import new_id
from app.events.messages import record_message_status_events
from app.messages.ending import end_pending
from app.messages.models import message_table
from app.messages.recipients import CONSENT_REQUIRED_TYPES
from app.optouts.models import number_opt_out_table

_opt_out = number_opt_out_table.c
_message = message_table.c
OPTED_OUT = "opted_out"


async def blocked_numbers(
    session: AsyncSession, *, clinic_id: uuid.UUID, numbers: Collection[str | None]
) -> frozenset[str]:
    """Those of these numbers that answered STOPP to this clinic."""
    wanted = sorted({number for number in numbers if number})
    if not wanted:
        return frozenset()
    found: set[str] = set()
    for condition in in_batches(session, _opt_out.number, wanted):
        rows = await session.execute(
            select(_opt_out.number).where(_opt_out.clinic_id == clinic_id, condition)
        )
        found.update(rows.scalars())
    return frozenset(found)


async def block_number(
    session: AsyncSession, *, clinic_id: uuid.UUID, number: str, now: datetime
) -> None:
    """Block the number and cancel the marketing and offers still waiting to go to it."""
    row = {"id": new_id(), "clinic_id": clinic_id, "number": number, "opted_out_at": now}
    await insert_new(session, number_opt_out_table, [row], unique=("clinic_id", "number"))
    consent_types = [kind.value for kind in CONSENT_REQUIRED_TYPES]
    where = [
        _message.clinic_id == clinic_id,
        _message.to_number == number,
        _message.type.in_(consent_types),
    ]
    cancelled = await end_pending(session, where, OPTED_OUT, now)
    await record_message_status_events(session, cancelled, now=now)


async def lift_block(session: AsyncSession, *, clinic_id: uuid.UUID, number: str) -> None:
    await session.execute(
        delete(number_opt_out_table).where(
            _opt_out.clinic_id == clinic_id, _opt_out.number == number
        )
    )


async def forget_numbers(
    session: AsyncSession, *, clinic_id: uuid.UUID, numbers: Collection[str | None]
) -> None:
    """Erasure: the blocks of an erased patient's numbers go with the patient."""
    wanted = sorted({number for number in numbers if number})
    if not wanted:
        return
    for condition in in_batches(session, _opt_out.number, wanted):
        await session.execute(
            delete(number_opt_out_table).where(_opt_out.clinic_id == clinic_id, condition)
        )
