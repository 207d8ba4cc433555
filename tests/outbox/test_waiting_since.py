"""`waiting_since`: where the due times that go at a moment or later begin."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.messages.window import PauseRules, waiting_since

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
