"""What goes out in a period: each pending message at the time the worker will really
send it, on the clinic's local days, with counts and cost per type.

The worker claims a pending message once `next_attempt_at` has come (at once when it is
overdue) and, when the clinic is paused at that moment, gives it back until the next
stretch (`app.messages.claim`): a flexible move. That is `compute_send_time` with
`SendKind.FLEXIBLE`, due `next_attempt_at`; a time not before `expires_at` means it
expires instead and is not listed. The function is monotone in the due time, so the
messages in `next_attempt_at` order are in send-time order, and the due times that go
within the period are one range: `waiting_since` gives its start.
"""

import uuid
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings, send_window_rules
from app.core.db import in_batches
from app.core.errors import InvalidInput
from app.core.pagination import decode_time_cursor, encode_time_cursor
from app.messages.models import Message, MessageStatus, message_table
from app.messages.schemas import MessagePublic
from app.messages.window import (
    PauseRules,
    SendKind,
    SendTime,
    allowed_stretches,
    compute_send_time,
    waiting_since,
)
from app.outbox.schemas import DayFigures, Outbox, OutboxItem, OutboxTotals, TypeFigures
from app.sms.schemas import Cost
from app.sms.service import money

MAX_DAYS = 93
_message = message_table.c


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date

    @classmethod
    def checked(cls, first: date, last: date) -> "Period":
        if last < first:
            raise InvalidInput.for_field("to", "must be on or after from", "before_from")
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidInput.for_field(
                "to", f"the period may hold at most {MAX_DAYS} days", "period_too_long"
            )
        return cls(first, last)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _start_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass
class _Tally:
    messages: int = 0
    segments: int = 0
    cost: Decimal = Decimal(0)

    def add(self, segments: int, cost: Decimal) -> None:
        self.messages += 1
        self.segments += segments
        self.cost += cost

    def merge(self, other: "_Tally") -> None:
        self.messages += other.messages
        self.segments += other.segments
        self.cost += other.cost

    def cost_in(self, currency: str) -> Cost:
        return Cost(amount=money(self.cost), currency=currency)


class SendTimes:
    """The worker's send time of each pending message. A due time inside one of the
    period's stretches is not paused, so `compute_send_time` would answer it unchanged:
    that is checked against the stretches, computed once; any other goes to the function
    itself, once per due time."""

    def __init__(self, period: Period, rules: PauseRules, tz: ZoneInfo, now: datetime) -> None:
        self._rules, self._tz, self._now = rules, tz, now
        self._days = (period.first - timedelta(days=1), period.last + timedelta(days=1))
        self._stretches = allowed_stretches(*self._days, rules, tz)
        self._starts = [start for start, _ in self._stretches]
        self._known: dict[datetime, datetime | None] = {}

    def _allowed(self, moment: datetime) -> bool:
        first, last = self._days
        if not first <= moment.astimezone(self._tz).date() <= last:
            return False  # not known here: the function decides
        index = bisect_right(self._starts, moment) - 1
        return index >= 0 and moment < self._stretches[index][1]

    def at(self, due: datetime, expires_at: datetime) -> datetime | None:
        earliest = max(due, self._now)
        if self._allowed(earliest):
            sends_at: datetime | None = earliest
        else:
            if earliest not in self._known:
                decision = compute_send_time(
                    due=earliest,
                    expires_at=datetime.max.replace(tzinfo=UTC),
                    kind=SendKind.FLEXIBLE,
                    rules=self._rules,
                    tz=self._tz,
                    now=self._now,
                )
                self._known[earliest] = decision.at if isinstance(decision, SendTime) else None
            sends_at = self._known[earliest]
        return sends_at if sends_at is not None and sends_at < expires_at else None


class _Candidate(NamedTuple):
    id: uuid.UUID
    due: datetime
    expires_at: datetime
    type: str
    segments: int
    cost: Decimal


async def _candidates(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    lowest_due: datetime | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[_Candidate]:
    statement = (
        select(
            _message.id,
            _message.next_attempt_at,
            _message.expires_at,
            _message.type,
            _message.segments,
            _message.cost,
        )
        .where(
            _message.clinic_id == clinic_id,
            _message.status == MessageStatus.PENDING,
            _message.to_number.is_not(None),
            _message.next_attempt_at < end,
            _message.expires_at > max(start, now),
        )
        .order_by(_message.next_attempt_at, _message.id)
    )
    if lowest_due is not None:
        statement = statement.where(_message.next_attempt_at >= lowest_due)
    return [_Candidate(*row) for row in await session.execute(statement)]


def _figures(tallies: dict[str, _Tally], currency: str) -> list[TypeFigures]:
    return [
        TypeFigures(
            type=kind,
            messages=tally.messages,
            segments=tally.segments,
            cost=tally.cost_in(currency),
        )
        for kind, tally in sorted(tallies.items())
    ]


def _total(tallies: dict[str, _Tally]) -> _Tally:
    total = _Tally()
    for tally in tallies.values():
        total.merge(tally)
    return total


def _day_figures(day: date, tallies: dict[str, _Tally], currency: str) -> DayFigures:
    total = _total(tallies)
    return DayFigures(
        day=day,
        messages=total.messages,
        segments=total.segments,
        cost=total.cost_in(currency),
        by_type=_figures(tallies, currency),
    )


async def _messages(
    session: AsyncSession, clinic_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Message]:
    found: dict[uuid.UUID, Message] = {}
    for condition in in_batches(session, _message.id, ids) if ids else ():
        rows = await session.execute(
            select(Message).where(condition, _message.clinic_id == clinic_id)
        )
        found |= {message.id: message for message in rows.scalars()}
    return found


async def outbox(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    period: Period,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> Outbox:
    after = decode_time_cursor(cursor) if cursor else None
    settings: ClinicSettings = await get_clinic_settings(session, clinic_id)
    tz, rules = ZoneInfo(settings.time_zone), send_window_rules(settings)
    start, end = _start_of(period.first, tz), _start_of(period.last + timedelta(days=1), tz)
    lowest_due = waiting_since(start, rules, tz)
    candidates = await _candidates(
        session, clinic_id, lowest_due if now < lowest_due else None, start, end, now
    )
    send_times = SendTimes(period, rules, tz, now)
    by_day: dict[date, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    page: list[tuple[uuid.UUID, datetime, datetime, date]] = []
    more = False
    for message_id, due, expires_at, kind, segments, cost in candidates:
        sends_at = send_times.at(due, expires_at)
        if sends_at is None or not start <= sends_at < end:
            continue
        day = sends_at.astimezone(tz).date()
        by_day[day][kind].add(segments, cost)
        if after is not None and (due, message_id) <= after:
            continue
        if len(page) < limit:
            page.append((message_id, due, sends_at, day))
        else:
            more = True
    stored = await _messages(session, clinic_id, [message_id for message_id, *_ in page])
    every_type: dict[str, _Tally] = defaultdict(_Tally)
    for tallies in by_day.values():
        for kind, tally in tallies.items():
            every_type[kind].merge(tally)
    total = _total(every_type)
    currency = settings.currency
    return Outbox(
        from_=period.first,
        to=period.last,
        time_zone=settings.time_zone,
        sms_enabled=settings.sms_enabled,
        days=[_day_figures(day, by_day.get(day, {}), currency) for day in period.days()],
        totals=OutboxTotals(
            messages=total.messages,
            segments=total.segments,
            cost=total.cost_in(currency),
            by_type=_figures(every_type, currency),
        ),
        data=[
            OutboxItem(sends_at=sends_at, day=day, message=MessagePublic.of(stored[message_id]))
            for message_id, _, sends_at, day in page
            if message_id in stored  # a worker may have taken it meanwhile
        ],
        next_cursor=encode_time_cursor(page[-1][1], page[-1][0]) if more else None,
    )
