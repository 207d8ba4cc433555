from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.messages.window import (
    SEARCH_HORIZON_DAYS,
    Expired,
    PauseRules,
    SendKind,
    SendTime,
    compute_send_time,
    is_paused,
    next_stretch_start,
    stretch_end,
)

OSLO = ZoneInfo("Europe/Oslo")
ANCHORED = SendKind.ANCHORED
FLEXIBLE = SendKind.FLEXIBLE

DEFAULT = PauseRules()
NO_WEEKEND = PauseRules(saturday=False, sunday=False)
SUNDAY_ONLY = PauseRules(saturday=False)
SATURDAY_ONLY = PauseRules(sunday=False)
NO_NIGHT = PauseRules(night_start=None, night_end=None)
NOTHING = PauseRules(saturday=False, sunday=False, night_start=None, night_end=None)
EARLY_NIGHT = PauseRules(night_start=time(0, 0), night_end=time(7, 0))
LUNCH = PauseRules(saturday=False, sunday=False, night_start=time(12), night_end=time(13))
HALF_HOUR_OPEN = PauseRules(night_start=time(8, 30), night_end=time(8, 0))


def oslo(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    """Oslo wall-clock time, as the aware UTC datetime the API speaks."""
    return datetime(year, month, day, hour, minute, sec, tzinfo=OSLO).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Week used below (CET, no DST change): Mon 2026-03-02 ... Sun 2026-03-08, Mon 2026-03-09.
FAR = oslo(2026, 4, 30)

SEND_TIME_CASES = [
    # --- the two examples from the product design ---
    pytest.param(
        oslo(2026, 3, 9, 8, 30) - timedelta(hours=24),
        oslo(2026, 3, 9, 8, 30),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 4, 12),
        SendTime(oslo(2026, 3, 6, 20)),
        id="reminder-24h-before-monday-0830-moves-to-friday-2000",
    ),
    pytest.param(
        oslo(2026, 3, 7, 10),
        FAR,
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 6, 12),
        SendTime(oslo(2026, 3, 9, 8)),
        id="flexible-saturday-1000-moves-to-monday-0800",
    ),
    # --- night window across midnight ---
    pytest.param(
        oslo(2026, 3, 3, 23, 30),
        FAR,
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 4, 8)),
        id="flexible-night-2330-moves-to-next-morning-0800",
    ),
    pytest.param(
        oslo(2026, 3, 3, 23, 30),
        oslo(2026, 3, 4, 9),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 3, 20)),
        id="anchored-night-2330-moves-to-same-evening-2000",
    ),
    pytest.param(
        oslo(2026, 3, 4, 6),
        oslo(2026, 3, 4, 9),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 3, 20)),
        id="anchored-0600-moves-to-previous-evening-2000",
    ),
    pytest.param(
        oslo(2026, 3, 3, 23),
        oslo(2026, 3, 4, 9),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 20, 30),
        SendTime(oslo(2026, 3, 3, 20, 30)),
        id="anchored-now-late-in-last-stretch-sends-now",
    ),
    pytest.param(
        oslo(2026, 3, 4, 6),
        oslo(2026, 3, 4, 10),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 22),
        SendTime(oslo(2026, 3, 4, 8)),
        id="anchored-no-stretch-between-now-and-due-moves-later",
    ),
    pytest.param(
        oslo(2026, 3, 4, 6),
        oslo(2026, 3, 4, 10),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 21),
        SendTime(oslo(2026, 3, 4, 8)),
        id="anchored-stretch-closed-exactly-now-moves-later",
    ),
    pytest.param(
        oslo(2026, 3, 3, 9),
        oslo(2026, 3, 3, 12),
        ANCHORED,
        HALF_HOUR_OPEN,
        oslo(2026, 3, 2, 12),
        SendTime(oslo(2026, 3, 3, 8)),
        id="anchored-stretch-shorter-than-an-hour-uses-its-start",
    ),
    # --- no pause ---
    pytest.param(
        oslo(2026, 3, 3, 14),
        FAR,
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 2, 12),
        SendTime(oslo(2026, 3, 3, 14)),
        id="flexible-weekday-afternoon-stays",
    ),
    pytest.param(
        oslo(2026, 3, 3, 14),
        oslo(2026, 3, 4, 14),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 2, 12),
        SendTime(oslo(2026, 3, 3, 14)),
        id="anchored-weekday-afternoon-stays",
    ),
    pytest.param(
        oslo(2026, 3, 7, 3),
        FAR,
        FLEXIBLE,
        NOTHING,
        oslo(2026, 3, 2, 12),
        SendTime(oslo(2026, 3, 7, 3)),
        id="no-pauses-at-all-stays",
    ),
    # --- weekend pauses switched off ---
    pytest.param(
        oslo(2026, 3, 7, 10),
        FAR,
        FLEXIBLE,
        SUNDAY_ONLY,
        oslo(2026, 3, 6, 12),
        SendTime(oslo(2026, 3, 7, 10)),
        id="saturday-pause-off-saturday-stays",
    ),
    pytest.param(
        oslo(2026, 3, 8, 10),
        FAR,
        FLEXIBLE,
        SATURDAY_ONLY,
        oslo(2026, 3, 6, 12),
        SendTime(oslo(2026, 3, 8, 10)),
        id="sunday-pause-off-sunday-stays",
    ),
    pytest.param(
        oslo(2026, 3, 8, 10),
        FAR,
        FLEXIBLE,
        SUNDAY_ONLY,
        oslo(2026, 3, 6, 12),
        SendTime(oslo(2026, 3, 9, 8)),
        id="saturday-pause-off-flexible-sunday-moves-to-monday",
    ),
    pytest.param(
        oslo(2026, 3, 8, 10),
        oslo(2026, 3, 9, 10),
        ANCHORED,
        SUNDAY_ONLY,
        oslo(2026, 3, 6, 12),
        SendTime(oslo(2026, 3, 7, 20)),
        id="saturday-pause-off-anchored-sunday-moves-to-saturday-2000",
    ),
    # --- night pause disabled ---
    pytest.param(
        oslo(2026, 3, 3, 23, 30),
        FAR,
        FLEXIBLE,
        NO_NIGHT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 3, 23, 30)),
        id="night-pause-off-2330-stays",
    ),
    pytest.param(
        oslo(2026, 3, 8, 10),
        oslo(2026, 3, 9, 10),
        ANCHORED,
        NO_NIGHT,
        oslo(2026, 3, 4, 12),
        SendTime(oslo(2026, 3, 6, 23)),
        id="night-pause-off-anchored-sunday-moves-to-friday-2300",
    ),
    pytest.param(
        oslo(2026, 3, 7, 10),
        FAR,
        FLEXIBLE,
        NO_NIGHT,
        oslo(2026, 3, 6, 12),
        SendTime(oslo(2026, 3, 9)),
        id="night-pause-off-flexible-saturday-moves-to-monday-0000",
    ),
    # --- night window not crossing midnight ---
    pytest.param(
        oslo(2026, 3, 4, 3),
        FAR,
        FLEXIBLE,
        EARLY_NIGHT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 4, 7)),
        id="night-0000-0700-flexible-0300-moves-to-0700",
    ),
    pytest.param(
        oslo(2026, 3, 3, 23, 30),
        FAR,
        FLEXIBLE,
        EARLY_NIGHT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 3, 23, 30)),
        id="night-0000-0700-2330-stays",
    ),
    pytest.param(
        oslo(2026, 3, 4, 3),
        oslo(2026, 3, 4, 9),
        ANCHORED,
        EARLY_NIGHT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 3, 23)),
        id="night-0000-0700-anchored-0300-moves-to-previous-2300",
    ),
    pytest.param(
        oslo(2026, 3, 3, 12, 30),
        FAR,
        FLEXIBLE,
        LUNCH,
        oslo(2026, 3, 3, 9),
        SendTime(oslo(2026, 3, 3, 13)),
        id="midday-pause-flexible-moves-to-its-end",
    ),
    pytest.param(
        oslo(2026, 3, 3, 12, 30),
        oslo(2026, 3, 3, 14),
        ANCHORED,
        LUNCH,
        oslo(2026, 3, 3, 9),
        SendTime(oslo(2026, 3, 3, 11)),
        id="midday-pause-anchored-moves-to-an-hour-before-it",
    ),
    # --- DST in Europe/Oslo: spring forward 2026-03-29, fall back 2026-10-25 ---
    pytest.param(
        oslo(2026, 3, 29, 5),
        FAR,
        FLEXIBLE,
        NO_WEEKEND,
        utc(2026, 3, 28, 12),
        SendTime(utc(2026, 3, 29, 6)),
        id="dst-spring-flexible-0500-moves-to-0800-cest-0600-utc",
    ),
    pytest.param(
        oslo(2026, 3, 28, 23),
        FAR,
        FLEXIBLE,
        NO_WEEKEND,
        utc(2026, 3, 28, 12),
        SendTime(utc(2026, 3, 29, 6)),
        id="dst-spring-flexible-across-the-gap-moves-to-0600-utc",
    ),
    pytest.param(
        oslo(2026, 10, 25, 5),
        oslo(2026, 11, 30),
        FLEXIBLE,
        NO_WEEKEND,
        utc(2026, 10, 24, 12),
        SendTime(utc(2026, 10, 25, 7)),
        id="dst-autumn-flexible-0500-moves-to-0800-cet-0700-utc",
    ),
    pytest.param(
        oslo(2026, 10, 24, 23),
        oslo(2026, 11, 30),
        FLEXIBLE,
        NO_WEEKEND,
        utc(2026, 10, 24, 12),
        SendTime(utc(2026, 10, 25, 7)),
        id="dst-autumn-flexible-across-the-repeated-hour-moves-to-0700-utc",
    ),
    pytest.param(
        oslo(2026, 3, 29, 6),
        oslo(2026, 3, 29, 9),
        ANCHORED,
        NO_WEEKEND,
        utc(2026, 3, 28, 12),
        SendTime(utc(2026, 3, 28, 19)),
        id="dst-spring-anchored-0600-cest-moves-to-2000-cet-1900-utc",
    ),
    pytest.param(
        oslo(2026, 10, 25, 6),
        oslo(2026, 10, 25, 9),
        ANCHORED,
        NO_WEEKEND,
        utc(2026, 10, 24, 12),
        SendTime(utc(2026, 10, 24, 18)),
        id="dst-autumn-anchored-0600-cet-moves-to-2000-cest-1800-utc",
    ),
    pytest.param(
        utc(2026, 3, 30, 6, 30) - timedelta(hours=24),  # Mon 08:30 CEST - 24 h = Sun 08:30 CEST
        utc(2026, 3, 30, 6, 30),
        ANCHORED,
        DEFAULT,
        utc(2026, 3, 25, 12),
        SendTime(utc(2026, 3, 27, 19)),
        id="dst-spring-reminder-24h-before-monday-moves-to-friday-2000-cet",
    ),
    # --- expiry ---
    pytest.param(
        oslo(2026, 3, 7, 10),
        oslo(2026, 3, 8, 12),
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 6, 12),
        Expired(would_be=oslo(2026, 3, 9, 8)),
        id="pause-ends-after-expiry-expired",
    ),
    pytest.param(
        oslo(2026, 3, 3, 14),
        oslo(2026, 3, 3, 14),
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 2, 12),
        Expired(would_be=oslo(2026, 3, 3, 14)),
        id="expiry-exactly-at-due-expired",
    ),
    pytest.param(
        oslo(2026, 3, 3, 23),
        oslo(2026, 3, 3, 20),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 12),
        Expired(would_be=oslo(2026, 3, 3, 20)),
        id="expiry-exactly-at-moved-anchored-time-expired",
    ),
    pytest.param(
        oslo(2026, 3, 4, 6),
        oslo(2026, 3, 4, 8),
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 3, 22),
        Expired(would_be=oslo(2026, 3, 4, 8)),
        id="anchored-moved-later-onto-expiry-expired",
    ),
    # --- due in the past ---
    pytest.param(
        oslo(2026, 3, 3, 10),
        FAR,
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 3, 12),
        SendTime(oslo(2026, 3, 3, 12)),
        id="past-due-now-allowed-sends-now",
    ),
    pytest.param(
        oslo(2026, 3, 3, 10),
        FAR,
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 3, 22),
        SendTime(oslo(2026, 3, 4, 8)),
        id="past-due-now-paused-moves-to-next-stretch",
    ),
    pytest.param(
        oslo(2026, 3, 3, 23),
        FAR,
        ANCHORED,
        DEFAULT,
        oslo(2026, 3, 4, 7),
        SendTime(oslo(2026, 3, 4, 8)),
        id="past-due-anchored-now-paused-moves-later",
    ),
    pytest.param(
        oslo(2026, 3, 3, 10),
        oslo(2026, 3, 3, 11),
        FLEXIBLE,
        DEFAULT,
        oslo(2026, 3, 3, 12),
        Expired(would_be=oslo(2026, 3, 3, 12)),
        id="past-due-already-expired",
    ),
]


@pytest.mark.parametrize(("due", "expires_at", "kind", "rules", "now", "expected"), SEND_TIME_CASES)
def test_compute_send_time(
    due: datetime,
    expires_at: datetime,
    kind: SendKind,
    rules: PauseRules,
    now: datetime,
    expected: SendTime | Expired,
) -> None:
    result = compute_send_time(
        due=due, expires_at=expires_at, kind=kind, rules=rules, tz=OSLO, now=now
    )
    assert result == expected


@pytest.mark.parametrize(
    ("moment", "rules", "paused"),
    [
        pytest.param(oslo(2026, 3, 3, 21), DEFAULT, True, id="2100-paused"),
        pytest.param(oslo(2026, 3, 3, 20, 59, 59), DEFAULT, False, id="205959-allowed"),
        pytest.param(oslo(2026, 3, 3, 8), DEFAULT, False, id="0800-allowed"),
        pytest.param(oslo(2026, 3, 3, 7, 59, 59), DEFAULT, True, id="075959-paused"),
        pytest.param(oslo(2026, 3, 4, 0), DEFAULT, True, id="midnight-paused"),
        pytest.param(oslo(2026, 3, 7, 12), DEFAULT, True, id="saturday-noon-paused"),
        pytest.param(oslo(2026, 3, 8, 12), DEFAULT, True, id="sunday-noon-paused"),
        pytest.param(oslo(2026, 3, 9, 8), DEFAULT, False, id="monday-0800-allowed"),
        pytest.param(oslo(2026, 3, 7, 12), SUNDAY_ONLY, False, id="saturday-pause-off"),
        pytest.param(oslo(2026, 3, 7, 22), SUNDAY_ONLY, True, id="saturday-pause-off-night"),
        pytest.param(oslo(2026, 3, 3, 23), NO_NIGHT, False, id="night-pause-off"),
        pytest.param(oslo(2026, 3, 4, 0), EARLY_NIGHT, True, id="early-night-0000-paused"),
        pytest.param(oslo(2026, 3, 4, 7), EARLY_NIGHT, False, id="early-night-0700-allowed"),
        pytest.param(oslo(2026, 3, 3, 23, 59), EARLY_NIGHT, False, id="early-night-2359"),
        pytest.param(utc(2026, 3, 29, 5, 59), NO_WEEKEND, True, id="dst-spring-0759-cest"),
        pytest.param(utc(2026, 3, 29, 6), NO_WEEKEND, False, id="dst-spring-0800-cest"),
        pytest.param(utc(2026, 3, 28, 19, 59), NO_WEEKEND, False, id="dst-spring-eve-2059"),
        pytest.param(utc(2026, 3, 28, 20), NO_WEEKEND, True, id="dst-spring-eve-2100"),
        pytest.param(utc(2026, 10, 25, 6, 59), NO_WEEKEND, True, id="dst-autumn-0759-cet"),
        pytest.param(utc(2026, 10, 25, 7), NO_WEEKEND, False, id="dst-autumn-0800-cet"),
        pytest.param(utc(2026, 10, 24, 18, 59), NO_WEEKEND, False, id="dst-autumn-eve-2059"),
        pytest.param(utc(2026, 10, 24, 19), NO_WEEKEND, True, id="dst-autumn-eve-2100"),
    ],
)
def test_is_paused(moment: datetime, rules: PauseRules, paused: bool) -> None:
    assert is_paused(moment, rules, OSLO) is paused


@pytest.mark.parametrize(
    ("moment", "rules", "expected"),
    [
        pytest.param(oslo(2026, 3, 3, 14), DEFAULT, oslo(2026, 3, 3, 14), id="allowed-is-itself"),
        pytest.param(oslo(2026, 3, 3, 21), DEFAULT, oslo(2026, 3, 4, 8), id="night"),
        pytest.param(oslo(2026, 3, 6, 21), DEFAULT, oslo(2026, 3, 9, 8), id="weekend"),
        pytest.param(utc(2026, 3, 28, 22), NO_WEEKEND, utc(2026, 3, 29, 6), id="dst-spring"),
        pytest.param(utc(2026, 10, 24, 22), NO_WEEKEND, utc(2026, 10, 25, 7), id="dst-autumn"),
    ],
)
def test_next_stretch_start(moment: datetime, rules: PauseRules, expected: datetime) -> None:
    assert next_stretch_start(moment, rules, OSLO) == expected


def test_non_utc_input_gives_utc_output() -> None:
    due = datetime(2026, 3, 7, 10, tzinfo=OSLO)
    now = datetime(2026, 3, 6, 12, tzinfo=OSLO)
    result = compute_send_time(
        due=due, expires_at=FAR, kind=FLEXIBLE, rules=DEFAULT, tz=OSLO, now=now
    )
    assert isinstance(result, SendTime)
    assert result.at.tzinfo is UTC
    assert result.at == oslo(2026, 3, 9, 8)


@pytest.mark.parametrize("naive", ["due", "expires_at", "now"])
def test_naive_datetime_rejected(naive: str) -> None:
    moments = {"due": oslo(2026, 3, 3, 14), "expires_at": FAR, "now": oslo(2026, 3, 3, 12)}
    moments[naive] = moments[naive].replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"^{naive} must be timezone-aware"):
        compute_send_time(kind=FLEXIBLE, rules=DEFAULT, tz=OSLO, **moments)


OfMoment = Callable[[datetime, PauseRules, ZoneInfo], object]


@pytest.mark.parametrize("function", [is_paused, next_stretch_start, stretch_end])
def test_naive_moment_rejected(function: OfMoment) -> None:
    with pytest.raises(ValueError, match="^moment must be timezone-aware, got naive"):
        function(datetime(2026, 3, 3, 14), DEFAULT, OSLO)


EQUAL = "^night_start equals night_end; use None for no night pause$"
ONE_MISSING = "^night_start and night_end must both be set or both be None$"


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        pytest.param(time(21), time(21), EQUAL, id="equal"),
        pytest.param(time(0), time(0), EQUAL, id="equal-midnight"),
        pytest.param(time(21), None, ONE_MISSING, id="end-missing"),
        pytest.param(None, time(8), ONE_MISSING, id="start-missing"),
        pytest.param(
            time(21, tzinfo=UTC),
            time(8),
            "^night window times are local wall-clock; no tzinfo$",
            id="start-has-tzinfo",
        ),
    ],
)
def test_invalid_pause_rules_rejected(start: time | None, end: time | None, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        PauseRules(night_start=start, night_end=end)


# --- properties ---

ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/Oslo",
        "America/New_York",
        "America/Santiago",  # DST changes at midnight
        "Australia/Lord_Howe",  # 30-minute DST shift
        "Asia/Kolkata",  # no DST, half-hour offset
    )
]

wall_times = st.times(max_value=time(23, 59)).map(lambda t: t.replace(second=0, microsecond=0))


@st.composite
def pause_rules(draw: st.DrawFn) -> PauseRules:
    night = draw(st.none() | st.tuples(wall_times, wall_times).filter(lambda se: se[0] != se[1]))
    start, end = night if night is not None else (None, None)
    return PauseRules(
        saturday=draw(st.booleans()), sunday=draw(st.booleans()), night_start=start, night_end=end
    )


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=20))
lifetimes = st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=10))


@given(
    now=instants,
    due_offset=offsets,
    lifetime=lifetimes,
    kind=st.sampled_from(SendKind),
    rules=pause_rules(),
    tz=st.sampled_from(ZONES),
)
def test_send_time_is_allowed_not_early_and_not_late(
    now: datetime,
    due_offset: timedelta,
    lifetime: timedelta,
    kind: SendKind,
    rules: PauseRules,
    tz: ZoneInfo,
) -> None:
    due = now + due_offset
    expires_at = due + lifetime
    result = compute_send_time(
        due=due, expires_at=expires_at, kind=kind, rules=rules, tz=tz, now=now
    )
    if isinstance(result, Expired):
        assert result.would_be is None or result.would_be >= expires_at
        return
    assert not is_paused(result.at, rules, tz)
    assert now <= result.at < expires_at
    assert result.at.tzinfo is UTC
    if kind is SendKind.FLEXIBLE or not is_paused(max(due, now), rules, tz):
        assert result.at >= due
    if not is_paused(max(due, now), rules, tz):
        assert result.at == max(due, now)


@given(moment=instants, rules=pause_rules(), tz=st.sampled_from(ZONES))
def test_is_paused_matches_the_wall_clock_away_from_dst_changes(
    moment: datetime, rules: PauseRules, tz: ZoneInfo
) -> None:
    local = moment.astimezone(tz)
    day = timedelta(hours=26)
    assume((moment - day).astimezone(tz).utcoffset() == local.utcoffset())
    assume((moment + day).astimezone(tz).utcoffset() == local.utcoffset())
    assert is_paused(moment, rules, tz) is _wall_clock_paused(local, rules)


def _wall_clock_paused(local: datetime, rules: PauseRules) -> bool:
    if local.weekday() == 5 and rules.saturday or local.weekday() == 6 and rules.sunday:
        return True
    start, end, wall = rules.night_start, rules.night_end, local.time()
    if start is None or end is None:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


@given(moment=instants, rules=pause_rules(), tz=st.sampled_from(ZONES))
def test_next_stretch_start_is_the_first_allowed_moment(
    moment: datetime, rules: PauseRules, tz: ZoneInfo
) -> None:
    start = next_stretch_start(moment, rules, tz)
    assert start is not None
    assert start >= moment
    assert not is_paused(start, rules, tz)
    if start > moment:
        assert is_paused(start - timedelta(microseconds=1), rules, tz)


@pytest.mark.parametrize(
    ("moment", "rules", "ends"),
    [
        pytest.param(oslo(2026, 11, 30, 11), DEFAULT, oslo(2026, 11, 30, 21), id="to-the-night"),
        pytest.param(oslo(2026, 12, 4, 15), DEFAULT, oslo(2026, 12, 4, 21), id="friday"),
        pytest.param(oslo(2026, 12, 4, 15), NO_NIGHT, oslo(2026, 12, 5), id="to-the-weekend"),
        pytest.param(oslo(2026, 11, 30, 13), LUNCH, oslo(2026, 12, 1, 12), id="lunch"),
        pytest.param(oslo(2026, 10, 24, 22), NO_WEEKEND, None, id="paused-already"),
        # Across the autumn DST change: 21:00 on Sunday is 20:00 UTC, not 19:00.
        pytest.param(oslo(2026, 10, 25, 10), NO_WEEKEND, utc(2026, 10, 25, 20), id="dst"),
    ],
)
def test_stretch_end_is_when_the_next_pause_begins(
    moment: datetime, rules: PauseRules, ends: datetime | None
) -> None:
    assert stretch_end(moment, rules, OSLO) == ends


def test_stretch_end_without_pauses_is_the_search_horizon() -> None:
    """The end of the last local day looked at, SEARCH_HORIZON_DAYS after the moment's."""
    end = stretch_end(oslo(2026, 11, 30, 11), NOTHING, OSLO)
    assert end == oslo(2026, 12, 1) + timedelta(days=SEARCH_HORIZON_DAYS)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param(FLEXIBLE, oslo(2026, 3, 5, 8), id="flexible-waits-for-the-morning"),
        pytest.param(ANCHORED, oslo(2026, 3, 4, 20), id="anchored-goes-an-hour-before"),
    ],
)
def test_a_message_due_exactly_at_a_pause_start_is_paused(
    kind: SendKind, expected: datetime
) -> None:
    """Stretches are half-open: 21:00 sharp already belongs to the night pause."""
    pause_start = oslo(2026, 3, 4, 21)
    assert is_paused(pause_start, DEFAULT, OSLO)
    assert not is_paused(pause_start - timedelta(microseconds=1), DEFAULT, OSLO)
    result = compute_send_time(
        due=pause_start,
        expires_at=FAR,
        kind=kind,
        rules=DEFAULT,
        tz=OSLO,
        now=oslo(2026, 3, 4, 12),
    )
    assert result == SendTime(expected)


def test_a_message_due_exactly_at_a_pause_end_goes_then() -> None:
    pause_end = oslo(2026, 3, 5, 8)
    result = compute_send_time(
        due=pause_end, expires_at=FAR, kind=FLEXIBLE, rules=DEFAULT, tz=OSLO, now=pause_end
    )
    assert result == SendTime(pause_end)


def test_a_pause_ending_in_the_repeated_autumn_hour_ends_at_its_first_occurrence() -> None:
    """02:30 happens twice on 2026-10-25 in Oslo: the first (CEST, 00:30 UTC) counts."""
    early_morning = PauseRules(
        saturday=False, sunday=False, night_start=time(0, 0), night_end=time(2, 30)
    )
    assert next_stretch_start(utc(2026, 10, 25, 0, 0), early_morning, OSLO) == utc(
        2026, 10, 25, 0, 30
    )
    assert not is_paused(utc(2026, 10, 25, 0, 45), early_morning, OSLO)


def test_a_stretch_has_no_end_at_the_moment_the_pause_begins() -> None:
    assert stretch_end(oslo(2026, 3, 4, 21), DEFAULT, OSLO) is None
    assert stretch_end(oslo(2026, 3, 4, 20, 59), DEFAULT, OSLO) == oslo(2026, 3, 4, 21)


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_time_zone_without_an_offset_counts_as_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_paused(datetime(2026, 3, 4, 12, tzinfo=_NoOffset()), DEFAULT, OSLO)
