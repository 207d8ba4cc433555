"""Recall timing, pure: the day (due date minus days, repeats after days), the send hour
in local time across DST and pauses, and the daily cap's spreading in due-date order."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.messages.window import PauseRules
from app.recalls.planning import (
    Calendar,
    Candidate,
    RecallTiming,
    assign,
    due_by,
    earliest_day,
    next_send_at,
    send_hour_on,
)

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


class TestEarliestDay:
    def test_the_first_goes_days_before_the_due_date(self) -> None:
        assert earliest_day(candidate(date(2027, 1, 15)), TIMING, OSLO) == date(2026, 12, 16)

    def test_zero_days_before_is_the_due_date_itself(self) -> None:
        due = date(2027, 1, 15)
        assert earliest_day(candidate(due), timing(days_before_due=0), OSLO) == due

    def test_a_repeat_counts_local_days_from_the_previous_attempt(self) -> None:
        previous = candidate(date(2027, 1, 15), attempts=1, last=oslo(2026, 12, 16, 10))
        assert earliest_day(previous, TIMING, OSLO) == date(2026, 12, 30)

    def test_the_previous_attempts_day_is_local_not_utc(self) -> None:
        # 23:30 UTC on the 16th is 00:30 on the 17th in Oslo.
        late = datetime(2026, 12, 16, 23, 30, tzinfo=UTC)
        previous = candidate(date(2027, 1, 15), attempts=1, last=late)
        assert earliest_day(previous, TIMING, OSLO) == date(2026, 12, 31)

    def test_the_last_allowed_attempt_still_comes(self) -> None:
        previous = candidate(date(2027, 1, 15), attempts=2, last=oslo(2026, 12, 30, 10))
        assert earliest_day(previous, TIMING, OSLO) == date(2027, 1, 13)

    def test_none_once_max_attempts_are_made(self) -> None:
        done = candidate(date(2027, 1, 15), attempts=3, last=oslo(2027, 1, 13, 10))
        assert earliest_day(done, TIMING, OSLO) is None
        assert earliest_day(done, timing(max_attempts=4), OSLO) == date(2027, 1, 27)


class TestSendHour:
    NOW = oslo(2026, 11, 30, 11)

    @pytest.mark.parametrize(
        ("day", "hour", "rules", "expected"),
        [
            pytest.param(date(2026, 12, 16), 10, DEFAULT, oslo(2026, 12, 16, 10), id="winter"),
            pytest.param(
                date(2026, 12, 16),
                10,
                DEFAULT,
                datetime(2026, 12, 16, 9, tzinfo=UTC),
                id="winter-is-utc+1",
            ),
            pytest.param(
                date(2027, 6, 16),
                10,
                DEFAULT,
                datetime(2027, 6, 16, 8, tzinfo=UTC),
                id="summer-is-utc+2",
            ),
            pytest.param(
                date(2027, 3, 28),
                10,
                NOTHING,
                datetime(2027, 3, 28, 8, tzinfo=UTC),
                id="spring-dst-day-already-summer-time",
            ),
            pytest.param(
                date(2027, 3, 28),
                2,
                NOTHING,
                datetime(2027, 3, 28, 1, tzinfo=UTC),
                id="spring-gap-02-is-03-summer-time",
            ),
            pytest.param(
                date(2026, 10, 25),
                2,
                NOTHING,
                datetime(2026, 10, 25, 0, tzinfo=UTC),
                id="autumn-ambiguous-02-is-the-first",
            ),
            pytest.param(date(2026, 12, 16), 7, DEFAULT, oslo(2026, 12, 16, 8), id="night-end"),
            pytest.param(date(2026, 12, 16), 8, DEFAULT, oslo(2026, 12, 16, 8), id="at-night-end"),
            pytest.param(
                date(2026, 12, 16), 20, DEFAULT, oslo(2026, 12, 16, 20), id="before-night"
            ),
            pytest.param(
                date(2026, 12, 16), 21, DEFAULT, oslo(2026, 12, 17, 8), id="night-start-paused"
            ),
            pytest.param(
                date(2026, 12, 19), 10, DEFAULT, oslo(2026, 12, 21, 8), id="saturday-to-monday"
            ),
            pytest.param(
                date(2026, 12, 20), 10, DEFAULT, oslo(2026, 12, 21, 8), id="sunday-to-monday"
            ),
            pytest.param(
                date(2026, 12, 19), 10, NO_WEEKEND, oslo(2026, 12, 19, 10), id="saturday-open"
            ),
        ],
    )
    def test_send_hour_local_with_pauses(
        self, day: date, hour: int, rules: PauseRules, expected: datetime
    ) -> None:
        assert send_hour_on(day, timing(send_hour=hour), calendar(self.NOW, rules)) == expected


class TestNextSendAt:
    DUE = date(2027, 1, 15)  # first recall Wednesday 2026-12-16

    def test_the_days_send_hour_while_it_is_ahead(self) -> None:
        now = oslo(2026, 12, 1, 9)
        assert next_send_at(candidate(self.DUE), TIMING, calendar(now)) == oslo(2026, 12, 16, 10)

    def test_at_the_send_hour_exactly_it_still_goes(self) -> None:
        now = oslo(2026, 12, 16, 10)
        assert next_send_at(candidate(self.DUE), TIMING, calendar(now)) == now

    def test_just_past_the_send_hour_it_goes_the_next_day(self) -> None:
        now = oslo(2026, 12, 16, 10) + MICROSECOND
        assert next_send_at(candidate(self.DUE), TIMING, calendar(now)) == oslo(2026, 12, 17, 10)

    def test_a_friday_past_its_send_hour_goes_on_monday(self) -> None:
        now = oslo(2026, 12, 18, 12)
        due = date(2027, 1, 17)  # first recall Friday 2026-12-18
        assert next_send_at(candidate(due), TIMING, calendar(now)) == oslo(2026, 12, 21, 8)

    def test_an_overdue_recall_goes_at_the_next_send_hour(self) -> None:
        now = oslo(2026, 12, 16, 9)
        long_overdue = candidate(date(2024, 5, 1))
        assert next_send_at(long_overdue, TIMING, calendar(now)) == oslo(2026, 12, 16, 10)

    def test_none_once_max_attempts_are_made(self) -> None:
        done = candidate(self.DUE, attempts=3, last=oslo(2026, 12, 30, 10))
        assert next_send_at(done, TIMING, calendar(oslo(2026, 12, 1))) is None

    def test_a_repeat_across_the_spring_dst_change_keeps_the_wall_clock(self) -> None:
        # Thursday 10:00 CET, then 14 local days: Thursday 10:00 CEST, 13 days 23 hours on.
        first = oslo(2027, 3, 18, 10)
        repeat = candidate(date(2027, 4, 17), attempts=1, last=first)
        at = next_send_at(repeat, TIMING, calendar(first + timedelta(hours=1)))
        assert at == datetime(2027, 4, 1, 8, tzinfo=UTC)
        assert at - first == timedelta(days=13, hours=23)

    def test_a_repeat_counts_from_the_local_day_of_the_previous_attempt(self) -> None:
        # 23:30 UTC on the 16th is the 17th in Oslo: the repeat is 14 days from the 17th.
        previous = datetime(2026, 12, 16, 23, 30, tzinfo=UTC)
        repeat = candidate(date(2027, 1, 15), attempts=1, last=previous)
        at = next_send_at(repeat, TIMING, calendar(oslo(2026, 12, 20)))
        assert at == oslo(2026, 12, 31, 10)

    def test_a_send_hour_in_the_night_pause_goes_when_the_pause_ends(self) -> None:
        now = oslo(2026, 12, 16, 12)
        late = timing(send_hour=22)
        assert next_send_at(candidate(self.DUE), late, calendar(now)) == oslo(2026, 12, 17, 8)

    def test_inside_the_night_pause_it_waits_for_the_next_send_hour(self) -> None:
        now = oslo(2026, 12, 16, 23)  # Wednesday night; the day's 10:00 has passed
        assert next_send_at(candidate(self.DUE), TIMING, calendar(now)) == oslo(2026, 12, 17, 10)


class TestDueBy:
    NOW = oslo(2026, 12, 16, 8)
    SEND = oslo(2026, 12, 16, 10)

    def test_until_the_send_time_exactly_is_included(self) -> None:
        ready = due_by([candidate(date(2027, 1, 15))], TIMING, calendar(self.NOW), self.SEND)
        assert len(ready) == 1

    def test_until_just_before_the_send_time_is_not(self) -> None:
        until = self.SEND - MICROSECOND
        assert due_by([candidate(date(2027, 1, 15))], TIMING, calendar(self.NOW), until) == []

    def test_a_day_later_due_date_is_not_ready(self) -> None:
        later = candidate(date(2027, 1, 16))
        assert due_by([later], TIMING, calendar(self.NOW), self.SEND + timedelta(hours=2)) == []

    def test_in_due_date_order_and_without_the_finished(self) -> None:
        a = candidate(date(2027, 1, 10), name="a")
        b = candidate(date(2027, 1, 1), name="b")
        done = candidate(date(2026, 12, 1), attempts=3, last=oslo(2026, 11, 1, 10), name="c")
        ready = due_by([a, done, b], TIMING, calendar(self.NOW), self.SEND)
        assert ready == [b, a]


def _ready_list(count: int, due: date) -> list[Candidate]:
    """`count` candidates due a day apart from `due`, in reverse order."""
    return [candidate(due + timedelta(days=i), name=str(i)) for i in reversed(range(count))]


class TestDailyCap:
    NOW = oslo(2026, 12, 16, 9)  # Wednesday
    WEEK = NOW + timedelta(days=7)

    def _assign(
        self,
        candidates: list[Candidate],
        cap: int | None,
        used: dict[date, int] | None = None,
        until: datetime = WEEK,
        rules: PauseRules = DEFAULT,
        recall_timing: RecallTiming = TIMING,
    ) -> dict[str, datetime]:
        names = {c.id: str(c.due_date) for c in candidates}
        result = assign(
            candidates,
            recall_timing,
            calendar(self.NOW, rules),
            until=until,
            daily_cap=cap,
            used=used or {},
        )
        return {names[a.candidate.id]: a.send_at for a in result}

    def test_no_cap_sends_all_at_once(self) -> None:
        ready = _ready_list(5, date(2026, 12, 1))  # all overdue
        assert set(self._assign(ready, None).values()) == {oslo(2026, 12, 16, 10)}

    def test_cap_spreads_over_days_earliest_due_first(self) -> None:
        ready = _ready_list(5, date(2026, 12, 1))
        assert self._assign(ready, 2) == {
            "2026-12-01": oslo(2026, 12, 16, 10),
            "2026-12-02": oslo(2026, 12, 16, 10),
            "2026-12-03": oslo(2026, 12, 17, 10),
            "2026-12-04": oslo(2026, 12, 17, 10),
            "2026-12-05": oslo(2026, 12, 18, 10),
        }

    def test_the_cap_exactly_fills_a_day(self) -> None:
        ready = _ready_list(3, date(2026, 12, 1))
        assert set(self._assign(ready, 3).values()) == {oslo(2026, 12, 16, 10)}

    def test_what_the_day_already_made_counts(self) -> None:
        ready = _ready_list(2, date(2026, 12, 1))
        made = self._assign(ready, 2, used={date(2026, 12, 16): 1})
        assert made == {"2026-12-01": oslo(2026, 12, 16, 10), "2026-12-02": oslo(2026, 12, 17, 10)}

    def test_a_full_day_sends_nothing_more(self) -> None:
        ready = _ready_list(1, date(2026, 12, 1))
        made = self._assign(ready, 2, used={date(2026, 12, 16): 2})
        assert made == {"2026-12-01": oslo(2026, 12, 17, 10)}

    def test_none_beyond_until(self) -> None:
        ready = _ready_list(3, date(2026, 12, 1))
        made = self._assign(ready, 1, until=oslo(2026, 12, 17, 10))
        assert made == {"2026-12-01": oslo(2026, 12, 16, 10), "2026-12-02": oslo(2026, 12, 17, 10)}
        just_before = self._assign(ready, 1, until=oslo(2026, 12, 17, 10) - MICROSECOND)
        assert just_before == {"2026-12-01": oslo(2026, 12, 16, 10)}

    def test_the_weekend_moves_to_monday_and_counts_there(self) -> None:
        # Friday full with two; Saturday's and Sunday's send hours are Monday 08:00, so
        # Monday takes two at 08:00 and the fifth waits for Tuesday.
        ready = _ready_list(5, date(2026, 12, 1))
        friday = oslo(2026, 12, 18, 9)
        result = assign(
            ready,
            TIMING,
            calendar(friday),
            until=friday + timedelta(days=7),
            daily_cap=2,
            used={},
        )
        assert [a.send_at for a in result] == [
            oslo(2026, 12, 18, 10),
            oslo(2026, 12, 18, 10),
            oslo(2026, 12, 21, 8),
            oslo(2026, 12, 21, 8),
            oslo(2026, 12, 22, 10),
        ]

    def test_a_send_hour_in_the_night_pause_counts_on_the_morning_it_goes(self) -> None:
        # 22:00 is paused: Wednesday's recall goes Thursday 08:00, Thursday's cap holds it.
        ready = _ready_list(1, date(2026, 12, 1))
        late = timing(send_hour=22)
        made = self._assign(ready, 1, used={date(2026, 12, 17): 1}, recall_timing=late)
        assert made == {"2026-12-01": oslo(2026, 12, 18, 8)}

    def test_days_are_counted_on_the_local_calendar(self) -> None:
        # Midnight in Oslo is 23:00 UTC the day before: the cap counts Oslo's days.
        ready = _ready_list(1, date(2026, 12, 1))
        midnight = timing(send_hour=0)
        made = self._assign(
            ready, 1, used={date(2026, 12, 17): 1}, rules=NOTHING, recall_timing=midnight
        )
        assert made == {"2026-12-01": oslo(2026, 12, 18, 0)}

    def test_a_later_first_day_is_not_moved_earlier(self) -> None:
        early = candidate(date(2026, 12, 1), name="early")
        later = candidate(date(2027, 1, 16), name="later")  # first recall Thursday the 17th
        made = self._assign([later, early], 5)
        assert made == {"2026-12-01": oslo(2026, 12, 16, 10), "2027-01-16": oslo(2026, 12, 17, 10)}

    def test_repeats_and_first_recalls_share_the_cap_in_due_order(self) -> None:
        repeat = candidate(date(2026, 12, 20), attempts=1, last=oslo(2026, 12, 2, 10), name="r")
        first = candidate(date(2027, 1, 15), name="f")
        made = self._assign([first, repeat], 1)
        assert made == {"2026-12-20": oslo(2026, 12, 16, 10), "2027-01-15": oslo(2026, 12, 17, 10)}

    def test_a_repeats_day_is_the_local_day_after_the_previous_attempt(self) -> None:
        previous = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # the 3rd in Oslo
        repeat = candidate(date(2026, 12, 20), attempts=1, last=previous, name="r")
        assert self._assign([repeat], None) == {"2026-12-20": oslo(2026, 12, 17, 10)}

    def test_the_same_due_date_goes_in_the_same_order_whatever_the_input_order(self) -> None:
        a = candidate(date(2026, 12, 1), name="a")
        b = candidate(date(2026, 12, 1), name="b")
        forward = assign([a, b], TIMING, calendar(self.NOW), until=self.WEEK, daily_cap=1, used={})
        backward = assign([b, a], TIMING, calendar(self.NOW), until=self.WEEK, daily_cap=1, used={})
        assert forward == backward
        assert [x.send_at for x in forward] == [oslo(2026, 12, 16, 10), oslo(2026, 12, 17, 10)]

    def test_finished_recalls_take_no_room(self) -> None:
        done = candidate(date(2026, 11, 1), attempts=3, last=oslo(2026, 12, 1, 10), name="d")
        open_ = candidate(date(2026, 12, 1), name="o")
        assert self._assign([done, open_], 1) == {"2026-12-01": oslo(2026, 12, 16, 10)}


DUES = st.dates(min_value=date(2026, 11, 1), max_value=date(2027, 2, 28))


@settings(max_examples=60, deadline=None)
@given(
    dues=st.lists(DUES, min_size=1, max_size=25),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
    hour=st.integers(min_value=0, max_value=23),
    hours_ahead=st.integers(min_value=0, max_value=24 * 10),
    used_today=st.integers(min_value=0, max_value=4),
)
def test_cap_order_and_bounds_hold_for_any_list(
    dues: list[date], cap: int | None, hour: int, hours_ahead: int, used_today: int
) -> None:
    now = oslo(2026, 12, 16, 9)
    until = now + timedelta(hours=hours_ahead)
    recall_timing = timing(send_hour=hour)
    cal = calendar(now)
    candidates = [candidate(due, name=str(i)) for i, due in enumerate(dues)]
    used = {cal.today: used_today}
    result = assign(candidates, recall_timing, cal, until=until, daily_cap=cap, used=used)
    per_day: dict[date, int] = dict(used)
    for assignment in result:
        earliest = next_send_at(assignment.candidate, recall_timing, cal)
        assert earliest is not None
        assert now <= earliest <= assignment.send_at <= until
        day = cal.day_of(assignment.send_at)
        per_day[day] = per_day.get(day, 0) + 1
    if cap is not None:
        assert all(count <= max(cap, used_today) for count in per_day.values())
        assert per_day.get(cal.today, 0) <= max(cap, used_today)
    assert len({a.candidate.id for a in result}) == len(result)
    # The earlier due never goes later than a later-due candidate with the same first time.
    by_first: dict[datetime | None, list[datetime]] = {}
    for assignment in sorted(result, key=lambda a: (a.candidate.due_date, str(a.candidate.id))):
        first = next_send_at(assignment.candidate, recall_timing, cal)
        times = by_first.setdefault(first, [])
        assert not times or times[-1] <= assignment.send_at
        times.append(assignment.send_at)
    if cap is None:
        ready = due_by(candidates, recall_timing, cal, until)
        assert len(result) == len(ready)


def test_the_wall_clock_of_the_send_hour_is_kept_on_every_day() -> None:
    """Summer or winter, a weekday's recall goes at 10:00 in Oslo."""
    cal = calendar(oslo(2026, 11, 30, 11), NOTHING)
    for offset in range(0, 400, 7):
        day = date(2026, 12, 2) + timedelta(days=offset)
        at = send_hour_on(day, TIMING, cal)
        assert at is not None
        assert at.astimezone(OSLO).time() == time(10)
        assert at.astimezone(OSLO).date() == day
