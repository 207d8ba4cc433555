"""The reminder state (§7) as a pure function of an appointment's messages and the clock."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.appointments.scheduling import MessageFacts
from app.appointments.state import ReminderState, combined_state, message_state, reminder_state

START = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
OTHER_START = START + timedelta(days=1)


def message(
    status: str,
    delivery: str | None = None,
    *,
    sent_hours_before_now: float | None = None,
    type: str = "reminder_1",
    start: datetime = START,
    now: datetime = START - timedelta(hours=24),
) -> MessageFacts:
    sent_at = None
    if sent_hours_before_now is not None:
        sent_at = now - timedelta(hours=sent_hours_before_now)
    return MessageFacts(
        id=uuid.uuid4(),
        type=type,
        status=status,
        delivery=delivery,
        patient_id=None,
        appointment_start_at=start,
        next_attempt_at=now,
        sent_at=sent_at,
    )


DAY_BEFORE = START - timedelta(hours=24)
THREE_HOURS_BEFORE = START - timedelta(hours=3)

# (name, message, now, expected)
ONE_MESSAGE: list[tuple[str, MessageFacts, datetime, ReminderState]] = [
    ("pending", message("pending"), DAY_BEFORE, ReminderState.SCHEDULED),
    ("being sent", message("sending"), DAY_BEFORE, ReminderState.SCHEDULED),
    (
        "sent, provider accepted, just now",
        message("sent", "accepted", sent_hours_before_now=0.5),
        DAY_BEFORE,
        ReminderState.ACCEPTED,
    ),
    (
        "sent, delivered",
        message("sent", "delivered", sent_hours_before_now=2),
        DAY_BEFORE,
        ReminderState.DELIVERED,
    ),
    (
        "answered counts as delivered",
        message("answered", "accepted", sent_hours_before_now=2),
        DAY_BEFORE,
        ReminderState.DELIVERED,
    ),
    (
        "provider's answer lost",
        message("sent", "unknown", sent_hours_before_now=0.1),
        DAY_BEFORE,
        ReminderState.SENT_UNCONFIRMED,
    ),
    (
        "accepted over 1 h ago, over 4 h to go",
        message("sent", "accepted", sent_hours_before_now=1.5),
        DAY_BEFORE,
        ReminderState.AWAITING_DELIVERY,
    ),
    (
        "accepted exactly 1 h ago is not yet awaiting",
        message("sent", "accepted", sent_hours_before_now=1),
        DAY_BEFORE,
        ReminderState.ACCEPTED,
    ),
    (
        "accepted, under 4 h to go",
        message("sent", "accepted", sent_hours_before_now=0.2, now=THREE_HOURS_BEFORE),
        THREE_HOURS_BEFORE,
        ReminderState.AT_RISK,
    ),
    (
        "accepted long ago, under 4 h to go",
        message("sent", "accepted", sent_hours_before_now=20, now=THREE_HOURS_BEFORE),
        THREE_HOURS_BEFORE,
        ReminderState.AT_RISK,
    ),
    (
        "delivered, under 4 h to go",
        message("sent", "delivered", sent_hours_before_now=20, now=THREE_HOURS_BEFORE),
        THREE_HOURS_BEFORE,
        ReminderState.DELIVERED,
    ),
    ("failed (expired)", message("failed"), DAY_BEFORE, ReminderState.FAILED),
    (
        "sent, undelivered",
        message("sent", "undelivered", sent_hours_before_now=2),
        DAY_BEFORE,
        ReminderState.FAILED,
    ),
]


@pytest.mark.parametrize(
    ("facts", "now", "expected"),
    [(m, now, state) for _, m, now, state in ONE_MESSAGE],
    ids=[name for name, *_ in ONE_MESSAGE],
)
def test_one_message(facts: MessageFacts, now: datetime, expected: ReminderState) -> None:
    assert message_state(facts, start=START, now=now) is expected
    assert reminder_state([facts], start=START, now=now) == (expected, None)


class TestCombined:
    def test_no_messages_is_none(self) -> None:
        assert reminder_state([], start=START, now=DAY_BEFORE) == (ReminderState.NONE, None)

    def test_a_skip_without_messages_is_skipped_with_its_reason(self) -> None:
        state = reminder_state([], start=START, now=DAY_BEFORE, skip_reason="no_mobile")
        assert state == (ReminderState.SKIPPED, "no_mobile")

    def test_cancelled_and_other_start_times_do_not_count(self) -> None:
        messages = [
            message("cancelled"),
            message("sent", "delivered", sent_hours_before_now=3, start=OTHER_START),
        ]
        assert reminder_state(messages, start=START, now=DAY_BEFORE) == (ReminderState.NONE, None)

    def test_the_latest_sent_reminder_decides(self) -> None:
        messages = [
            message("sent", "delivered", sent_hours_before_now=30),
            message("sent", "accepted", sent_hours_before_now=2, type="reminder_2"),
            message("pending", type="reminder_3"),
        ]
        state, _ = reminder_state(messages, start=START, now=DAY_BEFORE)
        assert state is ReminderState.AWAITING_DELIVERY

    def test_among_recipients_of_one_reminder_the_best_counts(self) -> None:
        messages = [
            message("sent", "undelivered", sent_hours_before_now=2),
            message("sent", "delivered", sent_hours_before_now=2),
        ]
        assert reminder_state(messages, start=START, now=DAY_BEFORE)[0] is ReminderState.DELIVERED

    def test_pending_after_a_failure_is_scheduled(self) -> None:
        messages = [message("failed"), message("pending", type="reminder_2")]
        assert reminder_state(messages, start=START, now=DAY_BEFORE)[0] is ReminderState.SCHEDULED

    def test_other_kinds_are_not_the_reminder_icon(self) -> None:
        confirmation = message("pending", type="booking_confirmation")
        assert reminder_state([confirmation], start=START, now=DAY_BEFORE)[0] is ReminderState.NONE
        assert (
            combined_state([confirmation], start=START, now=DAY_BEFORE)[0]
            is ReminderState.SCHEDULED
        )
