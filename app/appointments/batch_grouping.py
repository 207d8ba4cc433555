"""A batch's new messages, stored with one reminder per person per day (`grouping`).

Each row that could join a waiting message (or another row of the batch) goes through
`grouping.store`, one appointment at a time; the rest, usually all of them, are stored
together. One query tells which rows could: a number, kind and local day that a waiting
message or another row of the batch already has.
"""

from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import grouping
from app.appointments.composer import Composer, facts_of
from app.appointments.messaging import day_bounds
from app.appointments.models import Appointment
from app.appointments.scheduling import REPLY_KINDS, MessageFacts
from app.messages.models import MessageStatus, message_table
from app.messages.rows import MessageRow
from app.messages.service import store_messages
from app.patients.models import Patient

Made = tuple[Appointment, Patient, list[MessageRow]]
_Key = tuple[str, str, date]
_message = message_table.c
# Built once: a push runs it for every appointment that makes a reminder.
_WAITING = select(_message.to_number, _message.type, _message.appointment_start_at).where(
    _message.clinic_id == bindparam("clinic_id"),
    _message.to_number.in_(bindparam("numbers", expanding=True)),
    _message.type.in_(REPLY_KINDS),
    _message.status == MessageStatus.PENDING,
    _message.appointment_start_at >= bindparam("first"),
    _message.appointment_start_at < bindparam("last"),
)


def _keys(composer: Composer, appointment: Appointment, rows: Sequence[MessageRow]) -> set[_Key]:
    day = appointment.start_at.astimezone(composer.context.window.tz).date()
    return {
        (row["to_number"], row["type"], day)
        for row in rows
        if row["type"] in REPLY_KINDS and row["to_number"]
    }


async def _waiting_keys(session: AsyncSession, composer: Composer, keys: set[_Key]) -> set[_Key]:
    if not keys:
        return set()
    tz = composer.context.window.tz
    first, _ = day_bounds(min(day for _, _, day in keys), tz)
    _, last = day_bounds(max(day for _, _, day in keys), tz)
    numbers = sorted({number for number, _, _ in keys})
    found = await session.execute(
        _WAITING,
        {"clinic_id": composer.context.clinic_id, "numbers": numbers, "first": first, "last": last},
    )
    return {
        (number, kind, start.astimezone(tz).date())
        for number, kind, start in found
        if number is not None and start is not None
    }


async def store_made(
    session: AsyncSession, composer: Composer, made: Sequence[Made]
) -> list[list[MessageFacts]]:
    """Store each appointment's new rows; the facts of each, as its appointment sees them."""
    keys = [_keys(composer, appointment, rows) for appointment, _, rows in made]
    counts = Counter(key for item_keys in keys for key in item_keys)
    taken = {key for key, count in counts.items() if count > 1}
    taken |= await _waiting_keys(session, composer, set(counts))
    alone = [
        row
        for (_, _, rows), item_keys in zip(made, keys, strict=True)
        if not item_keys & taken
        for row in rows
    ]
    await store_messages(session, alone, now=composer.context.now)
    facts: list[list[MessageFacts]] = []
    for (appointment, patient, rows), item_keys in zip(made, keys, strict=True):
        if item_keys & taken:
            facts.append(await grouping.store(session, composer, appointment, patient, rows))
        else:
            facts.append([facts_of(row) for row in rows])
    return facts
