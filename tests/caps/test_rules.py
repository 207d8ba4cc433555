"""The pure rule: which messages a cap holds back, service messages taken first."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from app.caps.rules import Candidate, Cap, Limits, Usage, hold_back
from app.caps.usage import periods_at

PATIENT = uuid.uuid4()


def candidate(kind: str, cost: str = "1.00", number: str = "+4791234567") -> Candidate:
    return Candidate(kind, Decimal(cost), PATIENT, number)


def test_service_messages_use_the_cap_first_and_the_rest_get_what_is_left() -> None:
    limits = Limits(Decimal("2.00"), None, exempts_service=True)
    batch = [candidate("general"), candidate("reminder_1"), candidate("offer")]
    usage = Usage()
    assert hold_back(batch, usage, limits) == [None, None, Cap.MONTHLY_SPEND]
    assert usage.spent == Decimal("2.00")


def test_without_the_exemption_service_messages_are_held_like_the_rest() -> None:
    limits = Limits(Decimal("1.00"), None, exempts_service=False)
    assert hold_back([candidate("general"), candidate("reminder_1")], Usage(), limits) == [
        None,
        Cap.MONTHLY_SPEND,
    ]


def test_reaching_the_cap_exactly_is_allowed_passing_it_is_not() -> None:
    limits = Limits(Decimal("1.00"), None, exempts_service=True)
    usage = Usage(spent=Decimal("0.50"))
    batch = [candidate("general", "0.50"), candidate("general", "0.01")]
    assert hold_back(batch, usage, limits) == [None, Cap.MONTHLY_SPEND]


def test_the_daily_cap_counts_each_recipient_apart_and_exempt_ones_still_count() -> None:
    limits = Limits(None, 2, exempts_service=True)
    batch = [
        candidate("reminder_1"),
        candidate("general"),
        candidate("general"),
        candidate("general", number="+4791234568"),
    ]
    assert hold_back(batch, Usage(), limits) == [None, None, Cap.PER_PATIENT_PER_DAY, None]


def test_a_held_message_uses_nothing() -> None:
    limits = Limits(Decimal("1.00"), 1, exempts_service=True)
    usage = Usage(counts={(PATIENT, "+4791234567"): 1})
    assert hold_back([candidate("general")], usage, limits) == [Cap.PER_PATIENT_PER_DAY]
    assert usage.spent == Decimal("0")


def test_periods_are_the_clinics_calendar() -> None:
    # 23:30 UTC on 30 November is 00:30 on 1 December in Oslo.
    periods = periods_at(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Europe/Oslo")
    assert (periods.day, periods.month) == ("2026-12-01", "2026-12")
    assert periods.month_start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert periods.month_end == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert periods.day_end == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    # Summer time: March's last day ends at 22:00 UTC.
    march = periods_at(datetime(2027, 3, 15, 12, 0, tzinfo=UTC), "Europe/Oslo")
    assert march.month_start == datetime(2027, 2, 28, 23, 0, tzinfo=UTC)
    assert march.month_end == datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
