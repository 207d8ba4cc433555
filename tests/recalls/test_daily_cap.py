"""The daily cap, pure: a long list spreads over the next allowed days in due-date order,
counted by the local day each recall goes; and properties that hold for any list."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.messages.window import PauseRules
from app.recalls.planning import Candidate, RecallTiming, assign, due_by, next_send_at
from tests.recalls.timeline import (
    DEFAULT,
    MICROSECOND,
    NOTHING,
    TIMING,
    calendar,
    candidate,
    oslo,
    timing,
)


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
