"""Folding a message's part reports into one delivery state."""

from datetime import UTC, datetime, timedelta

import pytest

from app.deliveries.parts import PartReport, message_delivery
from app.messages.models import DeliveryState

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
A, D, U, K = (
    DeliveryState.ACCEPTED,
    DeliveryState.DELIVERED,
    DeliveryState.UNDELIVERED,
    DeliveryState.UNKNOWN,
)


def reports(*parts: tuple[int | None, DeliveryState]) -> list[PartReport]:
    return [
        PartReport(part, state, T0 + timedelta(seconds=index))
        for index, (part, state) in enumerate(parts)
    ]


@pytest.mark.parametrize(
    ("parts", "segments", "expected"),
    [
        ([(None, A)], 1, A),
        ([(None, D)], 1, D),
        ([(None, A), (None, D)], 1, D),
        ([(0, D)], 2, A),
        ([(0, D), (1, D)], 2, D),
        ([(0, D), (1, A)], 2, A),
        ([(0, D), (1, U)], 2, U),
        ([(0, U)], 3, U),
        ([(0, D), (1, K)], 2, K),
        ([(0, K), (0, D), (1, D)], 2, D),
        ([(0, D), (1, D), (2, D)], 2, D),  # the provider split in more parts than we did
        ([(0, D), (None, K)], 2, K),
        ([(None, D), (0, A)], 3, D),
        ([(0, D)], 1, D),
        ([(None, A), (0, D), (1, D)], 2, D),  # a whole-message report first changes nothing
        ([(0, D), (0, K), (1, D)], 2, D),  # a late unknown does not undo a part's receipt
        ([(0, D), (1, D), (2, K)], 2, K),  # the provider's extra part counts too
        ([(None, A)], 0, A),  # a message whose parts we never counted is one part
    ],
)
def test_message_delivery(
    parts: list[tuple[int | None, DeliveryState]], segments: int, expected: DeliveryState
) -> None:
    outcome = message_delivery(reports(*parts), segments)
    assert outcome is not None
    assert outcome.state is expected


def test_no_reports_no_outcome() -> None:
    assert message_delivery([], 1) is None


def test_delivered_at_is_the_last_parts_time() -> None:
    outcome = message_delivery(reports((1, D), (0, D)), 2)
    assert outcome is not None
    assert outcome.occurred_at == T0 + timedelta(seconds=1)


def test_an_early_accepted_report_before_the_last_part_keeps_the_message_on_its_way() -> None:
    """A part's 'accepted' is not final: with the last part still out, the message stays
    accepted, dated by its newest report whatever order the reports came in."""
    early_accepted = PartReport(1, A, T0)
    first_part_delivered = PartReport(0, D, T0 + timedelta(seconds=30))
    result = message_delivery([first_part_delivered, early_accepted], segments=2)
    assert result == PartReport(None, A, T0 + timedelta(seconds=30))


def test_undelivered_is_the_first_part_that_failed() -> None:
    late = PartReport(1, U, T0 + timedelta(seconds=10), "late failure")
    early = PartReport(0, U, T0, "first failure")
    assert message_delivery([late, early], 2) == early


def test_unknown_carries_the_time_and_reason_of_the_last_unknown_part() -> None:
    delivered = PartReport(0, D, T0)
    unknown = PartReport(1, K, T0 + timedelta(seconds=5), "no report in time")
    assert message_delivery([delivered, unknown], 2) == PartReport(
        None, K, T0 + timedelta(seconds=5), "no report in time"
    )
