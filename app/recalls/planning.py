"""When a patient's recall goes: pure date maths, no database.

The first recall of a due date is due `days_before_due` days before it, the next ones
`repeat_after_days` after the previous one, up to `max_attempts` in all. Days are the
clinic's local calendar days and a recall goes at `send_hour` local time on its day, so a
DST change moves nothing on the wall clock. A send hour that falls in a pause moves later,
to the end of the pause, as for general messages (a Saturday's recall goes on Monday
morning). A send time already past when a recall's day comes goes on the next day.

A clinic's daily cap counts recalls by the local day they go. Recalls are taken in
due-date order: those a full day cannot take move to the next day with room, so a long
list spreads over the next allowed days, the earliest due first.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.messages.window import SEARCH_HORIZON_DAYS, PauseRules, next_stretch_start

RECALL_VALIDITY = timedelta(hours=24)
"""A recall not sent within this long after its send time is not sent: the next one is."""

PLAN_AHEAD = timedelta(hours=2)
"""Recall messages are made this long before they go: late enough that a booking usually
comes first, early enough that a worker restart misses no send hour."""


@dataclass(frozen=True, slots=True)
class RecallTiming:
    """The parts of the clinic's recall rule that timing reads."""

    days_before_due: int
    send_hour: int
    repeat_after_days: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Calendar:
    """The clinic's pauses and zone, and the current time."""

    rules: PauseRules
    tz: ZoneInfo
    now: datetime

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A recall that may still go: its due date and the attempts made so far."""

    id: uuid.UUID
    due_date: date
    attempts: int
    last_attempt_at: datetime | None
    """When the previous attempt was to go (UTC); None before the first."""


@dataclass(frozen=True, slots=True)
class Assignment:
    candidate: Candidate
    send_at: datetime


def earliest_day(candidate: Candidate, timing: RecallTiming, tz: ZoneInfo) -> date | None:
    """The first local day the next attempt may go on; None when no attempt is left."""
    if candidate.attempts >= timing.max_attempts:
        return None
    if candidate.last_attempt_at is None:
        return candidate.due_date - timedelta(days=timing.days_before_due)
    previous_day = candidate.last_attempt_at.astimezone(tz).date()
    return previous_day + timedelta(days=timing.repeat_after_days)


def send_hour_on(day: date, timing: RecallTiming, calendar: Calendar) -> datetime | None:
    """`send_hour` on the local day, moved past any pause (UTC); a spring-forward gap
    shifts it forward by the gap. None only if the pauses leave no time for two weeks."""
    wall = datetime.combine(day, time(timing.send_hour), tzinfo=calendar.tz).replace(fold=0)
    return next_stretch_start(wall, calendar.rules, calendar.tz)


def _send_times(first_day: date, timing: RecallTiming, calendar: Calendar) -> Iterator[datetime]:
    """The send time of each local day from `first_day` on, those not before now; endless,
    as later days have later send times (callers stop at a bound of their own).

    A day long past cannot send after now (no pause lasts two weeks), so the search starts
    no earlier than that: an old due date costs no more than a new one."""
    day = max(first_day, calendar.today - timedelta(days=SEARCH_HORIZON_DAYS))
    while (at := send_hour_on(day, timing, calendar)) is not None:
        if at >= calendar.now:
            yield at
        day += timedelta(days=1)


def next_send_at(candidate: Candidate, timing: RecallTiming, calendar: Calendar) -> datetime | None:
    """When the next attempt would go if no daily cap held it back; None when none is left."""
    day = earliest_day(candidate, timing, calendar.tz)
    if day is None:
        return None
    return next(_send_times(day, timing, calendar), None)


def due_by(
    candidates: Sequence[Candidate], timing: RecallTiming, calendar: Calendar, until: datetime
) -> list[Candidate]:
    """The candidates whose next attempt could go by `until`, cap aside, in due-date order."""
    ready = [
        candidate
        for candidate in candidates
        if (at := next_send_at(candidate, timing, calendar)) is not None and at <= until
    ]
    return sorted(ready, key=_due_order)


def assign(
    candidates: Sequence[Candidate],
    timing: RecallTiming,
    calendar: Calendar,
    *,
    until: datetime,
    daily_cap: int | None,
    used: Mapping[date, int],
) -> list[Assignment]:
    """Send times up to `until` for the candidates, in due-date order: each takes the first
    day's send time that is not past and whose day (local) has room under the cap. `used`
    counts the recalls already made per local day. A candidate with no room by `until`
    gets nothing now: a later run gives it a later day."""
    taken: Counter[date] = Counter(used)
    assignments: list[Assignment] = []
    for candidate in sorted(candidates, key=_due_order):
        day = earliest_day(candidate, timing, calendar.tz)
        if day is None:
            continue
        for at in _send_times(day, timing, calendar):
            if at > until:
                break
            send_day = calendar.day_of(at)
            if daily_cap is None or taken[send_day] < daily_cap:
                taken[send_day] += 1
                assignments.append(Assignment(candidate, at))
                break
    return assignments


def _due_order(candidate: Candidate) -> tuple[date, str]:
    return candidate.due_date, str(candidate.id)
