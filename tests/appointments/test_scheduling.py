"""When an appointment's messages go: pure functions, with the clinic's pauses and DST."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.appointments.models import AppointmentStatus
from app.appointments.scheduling import (
    Decision,
    Kind,
    MessageFacts,
    Push,
    Rules,
    Timing,
    Window,
    confirmation_timing,
    is_stale,
    live_kinds,
    plan,
    reminder_timing,
    thank_you_timing,
)
from app.messages.window import PauseRules, SendKind
from app.reminder_rules.service import Reminder

OSLO = ZoneInfo("Europe/Oslo")
DEFAULT_PAUSES = PauseRules()
NO_PAUSES = PauseRules(saturday=False, sunday=False, night_start=None, night_end=None)
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday 11:00 in Oslo
PATIENT = uuid.uuid4()


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


def window(now: datetime = NOW, pauses: PauseRules = DEFAULT_PAUSES) -> Window:
    return Window(pauses, OSLO, now)


def reminder(hours_before: int, min_lead_hours: int = 2, number: int = 1) -> Reminder:
    return Reminder(number, True, hours_before, min_lead_hours)


def send_at(outcome: Timing | str) -> datetime:
    assert isinstance(outcome, Timing), outcome
    return outcome.send_at


# (name, appointment start, hours before, pauses, now, expected send time in Oslo)
REMINDER_TIMES = [
    (
        "Monday 08:30, 24 h before is Sunday: Friday 20:00",
        oslo(2026, 12, 7, 8, 30),
        24,
        DEFAULT_PAUSES,
        NOW,
        oslo(2026, 12, 4, 20, 0),
    ),
    (
        "Wednesday 07:30, 24 h before is in the night: Monday 20:00",
        oslo(2026, 12, 9, 7, 30),
        24,
        DEFAULT_PAUSES,
        NOW,
        oslo(2026, 12, 7, 20, 0),
    ),
    (
        "inside a stretch: exactly 24 h before",
        oslo(2026, 12, 3, 14, 30),
        24,
        DEFAULT_PAUSES,
        NOW,
        oslo(2026, 12, 2, 14, 30),
    ),
    (
        "spring DST with pauses: Monday 08:30 CEST, Sunday is paused: Friday 20:00 CET",
        oslo(2027, 3, 29, 8, 30),
        24,
        DEFAULT_PAUSES,
        NOW,
        oslo(2027, 3, 26, 20, 0),
    ),
    (
        "spring DST: 48 elapsed hours before Monday 10:00 CEST is Saturday 09:00 CET",
        oslo(2027, 3, 29, 10, 0),
        48,
        NO_PAUSES,
        NOW,
        oslo(2027, 3, 27, 9, 0),
    ),
    (
        "autumn DST: 48 elapsed hours before Monday 10:00 CET is Saturday 11:00 CEST",
        oslo(2027, 11, 1, 10, 0),
        48,
        NO_PAUSES,
        NOW,
        oslo(2027, 10, 30, 11, 0),
    ),
    (
        "autumn DST with pauses: Monday 08:30 CET: Friday 20:00 CEST",
        oslo(2027, 11, 1, 8, 30),
        24,
        DEFAULT_PAUSES,
        NOW,
        oslo(2027, 10, 29, 20, 0),
    ),
    (
        "due already, appointment 5 h away: at once",
        oslo(2026, 11, 30, 16, 0),
        24,
        DEFAULT_PAUSES,
        NOW,
        NOW,
    ),
    (
        "due already at night: the morning, still before the appointment",
        oslo(2026, 12, 1, 10, 0),
        24,
        DEFAULT_PAUSES,
        oslo(2026, 11, 30, 23, 0),
        oslo(2026, 12, 1, 8, 0),
    ),
]


@pytest.mark.parametrize(
    ("start", "hours", "pauses", "now", "expected"),
    [case[1:] for case in REMINDER_TIMES],
    ids=[case[0] for case in REMINDER_TIMES],
)
def test_reminder_send_time(
    start: datetime, hours: int, pauses: PauseRules, now: datetime, expected: datetime
) -> None:
    outcome = reminder_timing(start, reminder(hours), window(now, pauses))
    assert send_at(outcome) == expected
    assert isinstance(outcome, Timing)
    assert outcome.expires_at == start
    assert outcome.kind is SendKind.ANCHORED


class TestReminderSkips:
    def test_due_passed_and_within_min_lead(self) -> None:
        start = NOW + timedelta(hours=1, minutes=59)
        assert reminder_timing(start, reminder(24), window()) == "within_min_lead"
        assert send_at(reminder_timing(start + timedelta(minutes=1), reminder(24), window()))

    def test_min_lead_only_applies_once_the_reminder_is_due(self) -> None:
        start = NOW + timedelta(hours=3)
        assert send_at(reminder_timing(start, reminder(2, min_lead_hours=5), window()))

    def test_a_past_appointment_gets_none(self) -> None:
        assert reminder_timing(NOW - timedelta(hours=1), reminder(24), window()) == (
            "within_min_lead"
        )
        by_hand = reminder_timing(NOW - timedelta(hours=1), reminder(24), window(), by_hand=True)
        assert by_hand == "too_late"

    def test_by_hand_ignores_the_min_lead(self) -> None:
        start = NOW + timedelta(minutes=30)
        assert send_at(reminder_timing(start, reminder(24), window(), by_hand=True)) == NOW

    def test_no_time_before_the_appointment_is_no_send_window(self) -> None:
        now = oslo(2026, 12, 6, 10, 0)  # Sunday
        start = oslo(2026, 12, 7, 7, 30)  # Monday before the night pause ends
        assert reminder_timing(start, reminder(24), window(now)) == "no_send_window"


class TestOtherKinds:
    def test_booking_confirmation_goes_now_and_expires_at_the_start(self) -> None:
        start = oslo(2026, 12, 7, 8, 30)
        outcome = confirmation_timing(start, window(), SendKind.ANCHORED)
        assert isinstance(outcome, Timing)
        assert (outcome.send_at, outcome.expires_at) == (NOW, start)

    def test_confirmation_for_a_past_appointment_is_too_late(self) -> None:
        assert confirmation_timing(NOW, window(), SendKind.ANCHORED) == "too_late"

    def test_thank_you_after_the_end_and_within_a_day(self) -> None:
        end = oslo(2026, 11, 30, 12, 0)
        assert send_at(thank_you_timing(end, 2, window())) == oslo(2026, 11, 30, 14, 0)
        late = window(end + timedelta(hours=14))
        assert thank_you_timing(end, 2, late) == "too_late"


def booked(start: datetime, **fields: object) -> Push:
    values: dict[str, object] = {
        "status": AppointmentStatus.BOOKED,
        "start": start,
        "end": start + timedelta(minutes=30),
        "patient_id": PATIENT,
        "previous_status": None,
    } | fields
    return Push(**values)  # type: ignore[arg-type]


def rules(*hours: int, **flags: bool) -> Rules:
    return Rules(
        reminders=[reminder(h, number=n) for n, h in enumerate(hours, start=1)],
        booking_confirmation=flags.get("booking", False),
        cancellation_confirmation=flags.get("cancellation", False),
        thank_you=flags.get("thank_you", False),
        thank_you_hours_after=2,
    )


def outcomes(decisions: list[Decision]) -> list[tuple[str, str | datetime | None]]:
    return [(d.kind, d.timing.send_at if d.timing else d.reason) for d in decisions]


class TestPlan:
    def test_two_reminders_moved_to_the_same_time_are_one(self) -> None:
        start = oslo(2026, 12, 7, 8, 30)  # 48 h and 24 h before are both in the weekend
        decisions = plan(booked(start), rules(48, 24), window(), live={}, settled=set())
        assert outcomes(decisions) == [
            (Kind.REMINDER_1, oslo(2026, 12, 4, 20, 0)),
            (Kind.REMINDER_2, "duplicate"),
        ]

    def test_reminders_all_due_at_booking_are_one(self) -> None:
        start = NOW + timedelta(hours=20)
        no_pauses = window(pauses=NO_PAUSES)
        decisions = plan(booked(start), rules(48, 24, 2), no_pauses, live={}, settled=set())
        assert outcomes(decisions) == [
            (Kind.REMINDER_1, NOW),
            (Kind.REMINDER_2, "duplicate"),
            (Kind.REMINDER_3, start - timedelta(hours=2)),
        ]

    def test_live_and_settled_kinds_are_left_alone(self) -> None:
        start = oslo(2026, 12, 3, 14, 30)
        decisions = plan(
            booked(start),
            rules(48, 24, booking=True),
            window(),
            live={Kind.REMINDER_1: NOW},
            settled={Kind.BOOKING_CONFIRMATION},
        )
        assert outcomes(decisions) == [(Kind.REMINDER_2, oslo(2026, 12, 2, 14, 30))]

    def test_booking_confirmation_only_for_a_booking_or_a_move(self) -> None:
        start = oslo(2026, 12, 3, 14, 30)
        again = booked(start, previous_status=AppointmentStatus.BOOKED)
        assert plan(again, rules(booking=True), window(), live={}, settled=set()) == []
        moved = booked(start, previous_status=AppointmentStatus.BOOKED, moved=True)
        [decision] = plan(moved, rules(booking=True), window(), live={}, settled=set())
        assert decision.kind == Kind.BOOKING_CONFIRMATION

    def test_cancellation_confirmation_only_when_a_booking_is_cancelled(self) -> None:
        start = oslo(2026, 12, 3, 14, 30)
        first = booked(start, status=AppointmentStatus.CANCELLED)
        assert plan(first, rules(cancellation=True), window(), live={}, settled=set()) == []
        cancel = booked(
            start, status=AppointmentStatus.CANCELLED, previous_status=AppointmentStatus.BOOKED
        )
        [decision] = plan(cancel, rules(cancellation=True), window(), live={}, settled=set())
        assert (decision.kind, decision.timing and decision.timing.send_at) == (
            Kind.CANCELLATION_CONFIRMATION,
            NOW,
        )


def pending(kind: str, start: datetime, patient_id: uuid.UUID = PATIENT) -> MessageFacts:
    return MessageFacts(uuid.uuid4(), kind, "pending", None, patient_id, start, NOW, None)


class TestStale:
    START = oslo(2026, 12, 3, 14, 30)

    def test_a_move_makes_the_old_time_stale(self) -> None:
        old = pending(Kind.REMINDER_1, self.START)
        assert not is_stale(old, booked(self.START))
        assert is_stale(old, booked(self.START + timedelta(days=1)))

    def test_another_patient_or_practitioner_makes_it_stale(self) -> None:
        assert is_stale(pending(Kind.REMINDER_1, self.START, uuid.uuid4()), booked(self.START))
        assert is_stale(pending(Kind.REMINDER_1, self.START), booked(self.START, retext=True))

    def test_cancelling_keeps_only_its_own_confirmation(self) -> None:
        cancelled = booked(self.START, status=AppointmentStatus.CANCELLED)
        assert is_stale(pending(Kind.REMINDER_1, self.START), cancelled)
        assert is_stale(pending("notice", self.START), cancelled)
        assert not is_stale(pending(Kind.CANCELLATION_CONFIRMATION, self.START), cancelled)

    def test_completing_cancels_what_was_for_before_it(self) -> None:
        completed = booked(self.START, status=AppointmentStatus.COMPLETED)
        assert is_stale(pending(Kind.REMINDER_2, self.START), completed)
        assert not is_stale(pending(Kind.THANK_YOU, self.START), completed)

    def test_live_kinds_ignore_cancelled_and_other_times(self) -> None:
        messages = [
            pending(Kind.REMINDER_1, self.START),
            pending(Kind.REMINDER_2, self.START + timedelta(days=1)),
            MessageFacts(
                uuid.uuid4(), "reminder_3", "cancelled", None, PATIENT, self.START, NOW, None
            ),
        ]
        assert live_kinds(messages, booked(self.START)) == {Kind.REMINDER_1: NOW}


def disabled(hours_before: int, number: int) -> Reminder:
    return Reminder(number, False, hours_before, 2)


class TestBoundaries:
    """Edges a mutation test found untested."""

    def test_a_reminder_due_exactly_now_within_the_min_lead_is_skipped(self) -> None:
        start = NOW + timedelta(hours=2)
        assert reminder_timing(start, reminder(2, min_lead_hours=3), window()) == (
            "within_min_lead"
        )

    def test_a_reminder_by_hand_at_the_very_start_is_too_late(self) -> None:
        assert reminder_timing(NOW, reminder(24), window(), by_hand=True) == "too_late"

    def test_a_reminder_timing_in_full(self) -> None:
        start = oslo(2026, 12, 3, 14, 30)
        due = start - timedelta(hours=24)
        assert reminder_timing(start, reminder(24), window()) == Timing(
            due, due, start, SendKind.ANCHORED
        )

    def test_a_reminder_already_due_may_go_from_now(self) -> None:
        start = NOW + timedelta(hours=5)
        outcome = reminder_timing(start, reminder(24), window(pauses=NO_PAUSES))
        assert outcome == Timing(NOW, NOW, start, SendKind.ANCHORED)

    def test_confirmations_carry_their_send_kind(self) -> None:
        start = oslo(2026, 12, 3, 14, 30)
        outcome = confirmation_timing(start, window(), SendKind.FLEXIBLE)
        assert isinstance(outcome, Timing)
        assert outcome.kind is SendKind.FLEXIBLE
        booking = booked(start)
        [decision] = plan(booking, rules(booking=True), window(), live={}, settled=set())
        assert decision.timing == Timing(NOW, NOW, start, SendKind.ANCHORED)
        cancel = booked(
            start, status=AppointmentStatus.CANCELLED, previous_status=AppointmentStatus.BOOKED
        )
        [decision] = plan(cancel, rules(cancellation=True), window(), live={}, settled=set())
        assert decision.timing == Timing(NOW, NOW, start, SendKind.FLEXIBLE)


class TestThankYouPlan:
    END = oslo(2026, 11, 30, 12, 0)

    def completed(self, status: AppointmentStatus = AppointmentStatus.COMPLETED) -> Push:
        return booked(
            self.END - timedelta(minutes=30),
            status=status,
            previous_status=AppointmentStatus.BOOKED,
        )

    def test_a_completed_visit_is_thanked_after_the_set_hours(self) -> None:
        decisions = plan(self.completed(), rules(thank_you=True), window(), live={}, settled=set())
        due = self.END + timedelta(hours=2)
        timing = Timing(due, due, due + timedelta(hours=12), SendKind.FLEXIBLE)
        assert decisions == [Decision(Kind.THANK_YOU, timing, None)]

    def test_no_thank_you_when_off_already_decided_or_not_completed(self) -> None:
        completed = self.completed()
        assert plan(completed, rules(), window(), live={}, settled=set()) == []
        thanked = {Kind.THANK_YOU.value}
        assert plan(completed, rules(thank_you=True), window(), live={}, settled=thanked) == []
        no_show = self.completed(AppointmentStatus.NO_SHOW)
        assert plan(no_show, rules(thank_you=True), window(), live={}, settled=set()) == []


class TestReminderPlan:
    START = NOW + timedelta(hours=24, minutes=30)

    def plan_for(self, reminders: list[Reminder], **kwargs: object) -> list[Decision]:
        push_rules = Rules(reminders, False, False, False, 2)
        return plan(
            booked(self.START),
            push_rules,
            window(pauses=NO_PAUSES),
            live=kwargs.get("live", {}),  # type: ignore[arg-type]
            settled=kwargs.get("settled", set()),  # type: ignore[arg-type]
            redo=kwargs.get("redo", frozenset()),  # type: ignore[arg-type]
        )

    def test_a_reminder_right_after_a_live_one_is_a_duplicate(self) -> None:
        decisions = self.plan_for(
            [reminder(48), reminder(24, number=2)], live={Kind.REMINDER_1: NOW}
        )
        assert outcomes(decisions) == [(Kind.REMINDER_2, "duplicate")]

    def test_a_reminder_exactly_the_gap_after_the_one_before_goes(self) -> None:
        live = {Kind.REMINDER_1: NOW - timedelta(minutes=30)}
        decisions = self.plan_for([reminder(48), reminder(24, number=2)], live=live)
        assert outcomes(decisions) == [(Kind.REMINDER_2, NOW + timedelta(minutes=30))]

    def test_settled_and_disabled_reminders_are_passed_over(self) -> None:
        reminders = [reminder(48), disabled(30, 2), reminder(2, number=3)]
        decisions = self.plan_for(reminders, settled={Kind.REMINDER_1.value})
        assert outcomes(decisions) == [(Kind.REMINDER_3, self.START - timedelta(hours=2))]

    def test_a_disabled_reminder_to_redo_is_made_again(self) -> None:
        decisions = self.plan_for([disabled(2, 1)], redo={Kind.REMINDER_1.value})
        assert outcomes(decisions) == [(Kind.REMINDER_1, self.START - timedelta(hours=2))]


def test_a_booked_appointment_drops_its_pending_thank_you_and_cancellation_notice() -> None:
    start = oslo(2026, 12, 3, 14, 30)
    assert is_stale(pending(Kind.THANK_YOU, start), booked(start))
    assert is_stale(pending(Kind.CANCELLATION_CONFIRMATION, start), booked(start))


def test_live_kinds_take_the_latest_message_of_a_kind() -> None:
    start = oslo(2026, 12, 3, 14, 30)
    later = MessageFacts(uuid.uuid4(), "reminder_1", "sent", None, PATIENT, start, NOW, NOW)
    earlier_time = NOW - timedelta(hours=1)
    earlier = MessageFacts(
        uuid.uuid4(), "reminder_1", "pending", None, PATIENT, start, earlier_time, None
    )
    assert live_kinds([later, earlier], booked(start)) == {Kind.REMINDER_1: NOW}
