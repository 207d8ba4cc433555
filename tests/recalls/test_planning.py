"""Recall timing, pure: the day (due date minus days, repeats after days), the send hour
in local time across DST and pauses, and when the next attempt goes."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.messages.window import PauseRules
from app.recalls.planning import due_by, earliest_day, next_send_at, send_hour_on
from tests.recalls.timeline import (
    DEFAULT,
    MICROSECOND,
    NO_WEEKEND,
    NOTHING,
    OSLO,
    TIMING,
    calendar,
    candidate,
    oslo,
    timing,
)


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


def test_the_wall_clock_of_the_send_hour_is_kept_on_every_day() -> None:
    """Summer or winter, a weekday's recall goes at 10:00 in Oslo."""
    cal = calendar(oslo(2026, 11, 30, 11), NOTHING)
    for offset in range(0, 400, 7):
        day = date(2026, 12, 2) + timedelta(days=offset)
        at = send_hour_on(day, TIMING, cal)
        assert at is not None
        assert at.astimezone(OSLO).time() == time(10)
        assert at.astimezone(OSLO).date() == day
