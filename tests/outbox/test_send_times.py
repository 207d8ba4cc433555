"""The outbox's send times: `waiting_since` (where the due times that go at a moment or
later begin) and the shortcut through a period's stretches."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.messages.window import PauseRules, SendKind, SendTime, compute_send_time, waiting_since
from app.outbox.service import Period, SendTimes

OSLO = ZoneInfo("Europe/Oslo")
RULES = PauseRules()  # night 21-08, weekends


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Inside a stretch (Tuesday 12:00 local): only what is due from then on.
        (datetime(2026, 12, 1, 11, 0, tzinfo=UTC), datetime(2026, 12, 1, 11, 0, tzinfo=UTC)),
        # Tuesday 08:00 opens a stretch: everything due since Monday 21:00 waits for it.
        (datetime(2026, 12, 1, 7, 0, tzinfo=UTC), datetime(2026, 11, 30, 20, 0, tzinfo=UTC)),
        # Tuesday 03:00, in the night: the same pause.
        (datetime(2026, 12, 1, 2, 0, tzinfo=UTC), datetime(2026, 11, 30, 20, 0, tzinfo=UTC)),
        # Monday 08:00 after a weekend: back to Friday 21:00.
        (datetime(2026, 11, 30, 7, 0, tzinfo=UTC), datetime(2026, 11, 27, 20, 0, tzinfo=UTC)),
        # Summer time: Monday 29 March 2027 08:00 CEST waits since Friday 21:00 CET.
        (datetime(2027, 3, 29, 6, 0, tzinfo=UTC), datetime(2027, 3, 26, 20, 0, tzinfo=UTC)),
    ],
)
def test_waiting_since(moment: datetime, expected: datetime) -> None:
    assert waiting_since(moment, RULES, OSLO) == expected


@pytest.mark.parametrize(
    "rules",
    [
        PauseRules(),
        PauseRules(saturday=False, sunday=False, night_start=None, night_end=None),
        PauseRules(saturday=False, sunday=True, night_start=time(0, 0), night_end=time(7, 0)),
    ],
)
@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2027, 3, 26), date(2027, 3, 29)), (date(2026, 10, 23), date(2026, 10, 26))],
)
def test_the_outbox_send_time_is_the_workers(rules: PauseRules, first: date, last: date) -> None:
    """The shortcut through the period's stretches answers what `compute_send_time`
    answers, every 5 minutes across a DST change, from a day before to a day after."""
    now = datetime.combine(first, time(12), tzinfo=UTC)
    send_times = SendTimes(Period(first, last), rules, OSLO, now)
    never = datetime.max.replace(tzinfo=UTC)
    due = datetime.combine(first - timedelta(days=1), time(0), tzinfo=UTC)
    while due < datetime.combine(last + timedelta(days=2), time(0), tzinfo=UTC):
        decision = compute_send_time(
            due=due, expires_at=never, kind=SendKind.FLEXIBLE, rules=rules, tz=OSLO, now=now
        )
        assert isinstance(decision, SendTime)
        assert send_times.at(due, never) == decision.at, due
        due += timedelta(minutes=5)
