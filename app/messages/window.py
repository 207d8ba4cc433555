"""When may an SMS be sent? Pause rules and the send-time decision.

A clinic pauses sending on its local wall clock: optionally all of Saturday, all of
Sunday, and a nightly window (default 21:00-08:00, which may cross midnight). Everything
else is allowed; a *stretch* is a maximal continuous allowed interval, half-open
``[start, end)`` in UTC.

A message whose due time falls in a pause moves:

* ``FLEXIBLE``: later, to the start of the next stretch.
* ``ANCHORED`` (tied to an upcoming appointment, so it must arrive before it): earlier,
  into the last stretch that ends after ``now`` and no later than ``due``, at
  ``max(start, end - 1 h, now)`` so a late worker still has an hour. If no such stretch
  exists it moves later, like a flexible message.

A due time in the past counts as ``now``. A result that is not before ``expires_at`` is
``Expired``: messages are never sent late.

Offsets such as "24 hours before" are elapsed time, computed by the caller in UTC; only
the pauses are wall-clock. Local times are turned into UTC with ``fold=0``: an ambiguous
time (autumn) means its first occurrence, a nonexistent time (spring) is shifted forward
by the gap. Every datetime in and out is aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

SEARCH_HORIZON_DAYS = 14
"""How far (in local days) to look for a stretch; any valid rules allow time every week."""

ANCHORED_MARGIN = timedelta(hours=1)
"""An anchored message moved earlier goes this long before its stretch ends."""

_SATURDAY = 5
_SUNDAY = 6
_MIDNIGHT = time(0, 0)

Interval = tuple[datetime, datetime]
"""A half-open ``[start, end)`` interval in UTC."""


@dataclass(frozen=True, slots=True)
class PauseRules:
    """A clinic's pauses, in its local wall-clock time.

    ``night_start``/``night_end`` are both set or both ``None`` (no night pause). The
    night window crosses midnight when ``night_start > night_end`` (21:00-08:00) and
    does not otherwise (00:00-07:00). Equal start and end is ambiguous (nothing or
    everything paused) and is rejected.
    """

    saturday: bool = True
    sunday: bool = True
    night_start: time | None = time(21, 0)
    night_end: time | None = time(8, 0)

    def __post_init__(self) -> None:
        if (self.night_start is None) != (self.night_end is None):
            raise ValueError("night_start and night_end must both be set or both be None")
        for bound in (self.night_start, self.night_end):
            if bound is not None and bound.tzinfo is not None:
                raise ValueError("night window times are local wall-clock; no tzinfo")
        if self.night_start is not None and self.night_start == self.night_end:
            raise ValueError("night_start equals night_end; use None for no night pause")


class SendKind(StrEnum):
    ANCHORED = "anchored"
    FLEXIBLE = "flexible"


@dataclass(frozen=True, slots=True)
class SendTime:
    at: datetime
    """When to send (UTC)."""


@dataclass(frozen=True, slots=True)
class Expired:
    would_be: datetime | None
    """When it would have gone, or ``None`` if no allowed time was found."""


def is_paused(moment: datetime, rules: PauseRules, tz: ZoneInfo) -> bool:
    """Whether sending at ``moment`` is forbidden by ``rules`` in zone ``tz``."""
    moment = _as_utc(moment, "moment")
    return not any(
        start <= moment < end for start, end in _nearby(moment.astimezone(tz).date(), rules, tz)
    )


def next_stretch_start(moment: datetime, rules: PauseRules, tz: ZoneInfo) -> datetime | None:
    """``moment`` itself if allowed, else the start of the next stretch (UTC).

    ``None`` if nothing is allowed within ``SEARCH_HORIZON_DAYS``; valid rules always
    allow some time each week, so this is a safety bound, not an expected outcome.
    """
    moment = _as_utc(moment, "moment")
    if not is_paused(moment, rules, tz):
        return moment
    day = moment.astimezone(tz).date()
    first_day, horizon = day - timedelta(days=1), day + timedelta(days=SEARCH_HORIZON_DAYS)
    later_starts = (s for s, _ in _stretches(first_day, horizon, rules, tz) if s > moment)
    return next(later_starts, None)


def stretch_end(moment: datetime, rules: PauseRules, tz: ZoneInfo) -> datetime | None:
    """When the next pause begins, or ``None`` if ``moment`` is paused already.

    Looks ``SEARCH_HORIZON_DAYS`` ahead; a stretch running past that ends at the horizon.
    """
    moment = _as_utc(moment, "moment")
    day = moment.astimezone(tz).date()
    horizon = day + timedelta(days=SEARCH_HORIZON_DAYS)
    for start, end in _stretches(day - timedelta(days=1), horizon, rules, tz):
        if start <= moment < end:
            return end
    return None


def allowed_stretches(
    first_day: date, last_day: date, rules: PauseRules, tz: ZoneInfo
) -> list[Interval]:
    """The stretches of local days ``first_day..last_day``, in order: a moment on one of
    those days is not paused exactly when it lies in one (``is_paused`` for many moments
    at once)."""
    return list(_stretches(first_day, last_day, rules, tz))


def waiting_since(moment: datetime, rules: PauseRules, tz: ZoneInfo) -> datetime:
    """The earliest due time a flexible message goes at ``moment`` or later: ``moment``
    itself, or, when ``moment`` is paused or opens a stretch, the start of the pause that
    runs up to it (everything due in that pause waits until ``moment`` or later)."""
    moment = _as_utc(moment, "moment")
    day = moment.astimezone(tz).date()
    stretches = _stretches(day - timedelta(days=SEARCH_HORIZON_DAYS), day, rules, tz)
    ends = [end for start, end in stretches if start < moment]
    if not ends:
        return moment - timedelta(days=SEARCH_HORIZON_DAYS)
    return min(ends[-1], moment)


def compute_send_time(
    *,
    due: datetime,
    expires_at: datetime,
    kind: SendKind,
    rules: PauseRules,
    tz: ZoneInfo,
    now: datetime,
) -> SendTime | Expired:
    """When to send a message due at ``due``, or ``Expired`` if not before ``expires_at``."""
    due = _as_utc(due, "due")
    expires_at = _as_utc(expires_at, "expires_at")
    now = _as_utc(now, "now")
    earliest = max(due, now)
    at: datetime | None = earliest
    if is_paused(earliest, rules, tz):
        at = None
        if kind is SendKind.ANCHORED:
            at = _last_chance_before(due, now, rules, tz)
        if at is None:
            at = next_stretch_start(earliest, rules, tz)
    if at is None or at >= expires_at:
        return Expired(would_be=at)
    return SendTime(at=at)


def _last_chance_before(
    due: datetime, now: datetime, rules: PauseRules, tz: ZoneInfo
) -> datetime | None:
    """The anchored send time in the last stretch ending in ``(now, due]``, if any."""
    due_day = due.astimezone(tz).date()
    first_day = due_day - timedelta(days=SEARCH_HORIZON_DAYS)
    stretches = _stretches(first_day, due_day + timedelta(days=1), rules, tz)
    candidates = [(s, e) for s, e in stretches if now < e <= due]
    if not candidates:
        return None
    start, end = candidates[-1]
    return max(start, end - ANCHORED_MARGIN, now)


@lru_cache(maxsize=4096)
def _nearby(day: date, rules: PauseRules, tz: ZoneInfo) -> tuple[Interval, ...]:
    """The allowed intervals of the local days around ``day``. Pure, so remembered: a batch
    of appointments asks about the same few days thousands of times."""
    return tuple(_allowed_intervals(day - timedelta(days=2), day + timedelta(days=2), rules, tz))


@lru_cache(maxsize=4096)
def _stretches(
    first_day: date, last_day: date, rules: PauseRules, tz: ZoneInfo
) -> tuple[Interval, ...]:
    """Allowed time on local days ``first_day..last_day`` merged into stretches; remembered
    like ``_nearby``.

    Stretches touching the ends of the searched days may really extend further.
    """
    merged: list[Interval] = []
    for start, end in sorted(_allowed_intervals(first_day, last_day, rules, tz)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _allowed_intervals(
    first_day: date, last_day: date, rules: PauseRules, tz: ZoneInfo
) -> Iterator[Interval]:
    """Each local day's allowed intervals in UTC, skipping any emptied by a DST gap."""
    day = first_day
    while day <= last_day:
        for start, end in _allowed_local_times(day, rules):
            utc_start = _local_to_utc(day, start, tz)
            utc_end = _end_of_local_day(day, tz) if end is None else _local_to_utc(day, end, tz)
            if utc_start < utc_end:
                yield utc_start, utc_end
        day += timedelta(days=1)


def _allowed_local_times(day: date, rules: PauseRules) -> list[tuple[time, time | None]]:
    """Allowed wall-clock ``[start, end)`` ranges on ``day``; end ``None`` means midnight."""
    weekday = day.weekday()
    if (weekday == _SATURDAY and rules.saturday) or (weekday == _SUNDAY and rules.sunday):
        return []
    if rules.night_start is None or rules.night_end is None:
        return [(_MIDNIGHT, None)]
    if rules.night_start > rules.night_end:  # e.g. 21:00-08:00, crosses midnight
        return [(rules.night_end, rules.night_start)]
    return [(_MIDNIGHT, rules.night_start), (rules.night_end, None)]


def _local_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).replace(fold=0).astimezone(UTC)


def _end_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    return _local_to_utc(day + timedelta(days=1), _MIDNIGHT, tz)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)
