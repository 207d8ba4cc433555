"""Listing messages: filters and cursor pagination."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Subquery,
    func,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from app.appointments.models import message_appointment_table
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import FieldError, InvalidInput
from app.core.pagination import decode_time_cursor, encode_time_cursor
from app.core.phones import (
    number_filter,
)
from app.messages.models import (
    IS_SENDING,
    NOT_SENDING,
    STATUS_CODES,
    Message,
    MessageStatus,
    message_search_table,
    message_table,
)


class StatusFilter(StrEnum):
    """A status by our word or by the seed's code: V (pending, sending), S (sent), SB (sent
    and answered), F (failed), A (cancelled)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    V = "V"
    S = "S"
    SB = "SB"
    F = "F"
    A = "A"


def statuses_of(wanted: Sequence[StatusFilter]) -> list[MessageStatus]:
    """The statuses the words and codes stand for, each once, in our order."""
    words = {item.value for item in wanted}
    return [
        status for status in MessageStatus if status.value in words or STATUS_CODES[status] in words
    ]


@dataclass(frozen=True, slots=True)
class MessageFilters:
    status: list[MessageStatus] | None = None
    type: str | None = None
    patient_no: str | None = None
    to: str | None = None
    practitioner: str | None = None
    appointment_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    scheduled_from: datetime | None = None
    """`scheduled_for`: when a pending message will go, pauses applied."""
    scheduled_to: datetime | None = None
    sent_from: datetime | None = None
    sent_to: datetime | None = None
    q: str | None = None


_RANGES = ("created", "scheduled", "sent")

SENT_AFTER_CREATED_SLACK = timedelta(hours=1)
"""A message is sent after it was made, so one sent before a time was made before it too:
the newest-first walk can start there. The slack covers clocks of API and worker hosts
that disagree."""


def check_ranges(filters: MessageFilters) -> None:
    """Each range's end is after its start: a 422 naming every end that is not."""
    errors = [
        FieldError(field=f"{name}_to", reason=f"must be after {name}_from", code="before_from")
        for name in _RANGES
        if (start := getattr(filters, f"{name}_from")) is not None
        and (end := getattr(filters, f"{name}_to")) is not None
        and end <= start
    ]
    if errors:
        raise InvalidInput("A time range ends before it starts.", errors=errors)


def _in_ranges(statement: Select[Message], filters: MessageFilters) -> Select[Message]:
    """[from, to) on the time each range is about; scheduled_for is a pending message's."""
    table = message_table.c
    if filters.scheduled_from or filters.scheduled_to:
        statement = statement.where(table.status == MessageStatus.PENDING)
    columns = {
        "created": table.created_at,
        "scheduled": table.next_attempt_at,
        "sent": table.sent_at,
    }
    for name, column in columns.items():
        if (start := getattr(filters, f"{name}_from")) is not None:
            statement = statement.where(column >= start)
        if (end := getattr(filters, f"{name}_to")) is not None:
            statement = statement.where(column < end)
    if filters.sent_to is not None:
        # Else PostgreSQL reads the newest messages, all sent after it, to find the first.
        statement = statement.where(table.created_at < filters.sent_to + SENT_AFTER_CREATED_SLACK)
    return statement


def _of_appointment(clinic_id: uuid.UUID, appointment_id: str) -> CompoundSelect[tuple[uuid.UUID]]:
    """The ids of an appointment's messages, its own and those it shares with the person's
    other appointments that day: two index lookups, never a test of each of the clinic's
    messages (an OR with the shared ones would be)."""
    own = message_table.alias("own")
    link = message_appointment_table.c
    return union_all(
        select(own.c.id).where(
            own.c.clinic_id == clinic_id, own.c.appointment_id == appointment_id
        ),
        select(link.message_id).where(
            link.clinic_id == clinic_id, link.appointment_id == appointment_id
        ),
    )


def _filtered(
    statement: Select[Message], filters: MessageFilters, country: str, clinic_id: uuid.UUID
) -> Select[Message]:
    table = message_table.c
    statement = _in_ranges(statement, filters)
    if filters.status:
        statement = statement.where(table.status.in_([s.value for s in filters.status]))
    if filters.type:
        statement = statement.where(table.type == filters.type)
    if filters.patient_no:
        statement = statement.where(table.patient_no == filters.patient_no)
    if filters.to:
        statement = statement.where(
            table.to_number == number_filter(filters.to, country, field="to")
        )
    if filters.practitioner:
        statement = statement.where(table.practitioner == filters.practitioner)
    if filters.appointment_id:
        statement = statement.where(
            table.id.in_(_of_appointment(clinic_id, filters.appointment_id))
        )
    return statement


def holds(document: ColumnElement[str], q: str) -> ColumnElement[bool]:
    """The free text `q` is in the searched document, case folded, wildcards literal."""
    return document.contains(q.lower(), autoescape=True)


def searched(table: ReadOnlyColumnCollection[str, Any]) -> ColumnElement[str]:
    """The searched document of the rows of `table` (a subquery of messages): their names
    and text, case folded. The very document the triggers of migration 0026 copy into
    `message_search`, where the search past its window looks."""
    empty: ColumnElement[str] = literal_column("''")
    space: ColumnElement[str] = literal_column("' '")
    name, recipient, text = (
        func.coalesce(column, empty)
        for column in (table.patient_name, table.recipient_name, table.text)
    )
    return func.lower(name.concat(space).concat(recipient).concat(space).concat(text))


_NEWEST_FIRST = (message_table.c.created_at.desc(), message_table.c.id.desc())
_KEY = (message_table.c.created_at, message_table.c.id)
_SEARCHED = (message_table.c.patient_name, message_table.c.recipient_name, message_table.c.text)


def newest_first(statement: Select[Any], limit: int) -> Subquery:
    """The newest `limit` rows of `statement`, a clinic's messages (order them again):
    the newest settled ones from the list indexes, which leave out the messages in
    `sending` (migration 0029), with the newest in `sending` from ix_message_sending.

    Give `statement` few columns: each of the three subqueries builds a proxy of every
    column on every request (with all of `message`'s, a third of a list request's time)."""
    branches = (
        statement.where(part).order_by(*_NEWEST_FIRST).limit(limit).subquery()
        for part in (NOT_SENDING, IS_SENDING)
    )
    both = union_all(*(select(branch) for branch in branches)).subquery()
    return select(both).order_by(*_newest_of(both)).limit(limit).subquery()


def _newest_of(rows: Subquery) -> tuple[ColumnElement[Any], ...]:
    return rows.c.created_at.desc(), rows.c.id.desc()


def _messages_of(keys: Subquery) -> Select[Message]:
    """The messages whose (created_at, id) `keys` holds, in its newest-first order."""
    return select(Message).join(keys, keys.c.id == message_table.c.id).order_by(*_newest_of(keys))


def newest_page(statement: Select[Any], limit: int) -> Select[Message]:
    """The newest `limit` messages of `statement`, newest first."""
    return _messages_of(newest_first(statement.with_only_columns(*_KEY), limit))


SEARCH_WINDOW = 2000
"""A search first reads this many of the newest rows: a common word is found among them.
Past them it reads what the trigram index finds, which is few rows for any other word."""


def search_hits(unscoped: Select[Message], clinic_id: uuid.UUID, q: str) -> Select[Message]:
    """The ids of the clinic's rows of `unscoped` that hold `q`, as found in the trigram
    index of `message_search` (clinic and word together, migration 0026). The clinic is
    asked of the copy alone: asked of `message` too, the planner could walk a clinic index
    of it and read every row of the clinic for a word it lacks."""
    table, copy = message_table.c, message_search_table.c
    return (
        unscoped.with_only_columns(table.id)
        .join(message_search_table, copy.message_id == table.id)
        .where(copy.clinic_id == clinic_id, holds(copy.document, q))
    )


async def _search(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    unscoped: Select[Message],
    q: str,
    wanted: int,
) -> list[Message]:
    """The clinic's newest `wanted` rows of `unscoped` that hold `q`, fast for any word.

    Left to itself PostgreSQL either walks the clinic newest first, which for a word the
    clinic lacks reads every row, or reads all that the trigram index finds, which for a
    word in most rows is most of them. So: the newest SEARCH_WINDOW rows first, their
    document computed as read; only if they hold too few, the trigram index of
    `message_search` for the older rows, fenced in a materialized CTE so the planner cannot
    turn it back into the walk."""
    table = message_table.c
    statement = unscoped.where(table.clinic_id == clinic_id)
    recent = newest_first(statement.with_only_columns(*_KEY, *_SEARCHED), SEARCH_WINDOW)
    held = (
        select(recent.c.created_at, recent.c.id)
        .where(holds(searched(recent.c), q))
        .order_by(*_newest_of(recent))
        .limit(wanted)
        .subquery()
    )
    found = list((await session.execute(_messages_of(held))).scalars())
    if len(found) == wanted:
        return found
    edge = newest_first(statement.with_only_columns(*_KEY), SEARCH_WINDOW)
    boundary = (
        await session.execute(
            select(edge.c.created_at, edge.c.id)
            .order_by(*_newest_of(edge))
            .offset(SEARCH_WINDOW - 1)
            .limit(1)
        )
    ).one_or_none()
    if boundary is None:  # the window held every row
        return found
    hits = (
        search_hits(unscoped, clinic_id, q)
        .where(tuple_(table.created_at, table.id) < tuple(boundary))
        .cte("hits")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    older = (
        select(Message)
        .where(table.id.in_(select(hits.c.id)))
        .order_by(*_NEWEST_FIRST)
        .limit(wanted - len(found))
    )
    return found + list((await session.execute(older)).scalars())


async def list_messages(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    filters: MessageFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Message], str | None]:
    """Newest first; the cursor is the (created_at, id) of the last row returned."""
    check_ranges(filters)
    settings = await get_clinic_settings(session, clinic_id)
    table = message_table.c
    unscoped = _filtered(select(Message), filters, settings.country, clinic_id)
    if cursor is not None:
        after = decode_time_cursor(cursor)
        unscoped = unscoped.where(tuple_(table.created_at, table.id) < after)
    if filters.q:
        rows = await _search(session, clinic_id, unscoped, filters.q, limit + 1)
    else:
        page_statement = newest_page(unscoped.where(table.clinic_id == clinic_id), limit + 1)
        rows = list((await session.execute(page_statement)).scalars())
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_time_cursor(page[-1].created_at, page[-1].id) if more else None
    return page, next_cursor
