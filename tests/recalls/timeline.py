"""Shared by the pure recall-planning tests: Oslo times, calendars, candidates."""

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.messages.window import PauseRules
from app.recalls.planning import Calendar, Candidate, RecallTiming

OSLO = ZoneInfo("Europe/Oslo")
DEFAULT = PauseRules()  # weekends and 21:00-08:00
NO_WEEKEND = PauseRules(saturday=False, sunday=False)
NOTHING = PauseRules(saturday=False, sunday=False, night_start=None, night_end=None)
TIMING = RecallTiming(days_before_due=30, send_hour=10, repeat_after_days=14, max_attempts=3)
MICROSECOND = timedelta(microseconds=1)


def oslo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OSLO).astimezone(UTC)


def calendar(now: datetime, rules: PauseRules = DEFAULT) -> Calendar:
    return Calendar(rules, OSLO, now)


def candidate(
    due: date, attempts: int = 0, last: datetime | None = None, name: str = "a"
) -> Candidate:
    return Candidate(uuid.uuid5(uuid.NAMESPACE_DNS, name), due, attempts, last)


def timing(**changes: int) -> RecallTiming:
    values = {
        "days_before_due": TIMING.days_before_due,
        "send_hour": TIMING.send_hour,
        "repeat_after_days": TIMING.repeat_after_days,
        "max_attempts": TIMING.max_attempts,
    } | changes
    return RecallTiming(**values)
