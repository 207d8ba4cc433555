"""Scheduling's switches, pure: an appointment's reminders switched off, a confirmed patient,
the push built from a stored appointment, and messages sent now."""

import uuid
from datetime import timedelta

from app.appointments.models import Appointment, AppointmentStatus, Confirmation
from app.appointments.scheduling import (
    Kind,
    Push,
    Rules,
    Timing,
    cancel_reason,
    is_stale,
    now_timing,
    plan,
    plan_reminders,
    push_of,
)
from app.messages.window import SendKind
from app.reminder_rules.service import Reminder
from tests.appointments.test_scheduling import (
    NO_PAUSES,
    NOW,
    PATIENT,
    booked,
    oslo,
    outcomes,
    pending,
    window,
)

START = NOW + timedelta(days=3)
FIRST = Reminder(1, True, 48, 2)
ASKS = Reminder(2, True, 24, 2, only_if_unconfirmed=True)
"""A reminder that goes only while the appointment is unconfirmed."""
RULES = Rules(
    [FIRST, ASKS],
    booking_confirmation=True,
    cancellation_confirmation=False,
    thank_you=False,
    thank_you_hours_after=2,
)


def planned(push: Push) -> list[tuple[str, object]]:
    return outcomes(plan(push, RULES, window(pauses=NO_PAUSES), live={}, settled=set()))


class TestPlan:
    def test_reminders_off_skips_every_reminder_but_not_the_booking_confirmation(self) -> None:
        assert planned(booked(START, sms_reminders=False)) == [
            (Kind.REMINDER_1, "reminders_off"),
            (Kind.REMINDER_2, "reminders_off"),
            (Kind.BOOKING_CONFIRMATION, NOW),
        ]

    def test_a_confirmed_appointment_skips_only_what_asks_if_unconfirmed(self) -> None:
        assert planned(booked(START, confirmed=True)) == [
            (Kind.REMINDER_1, START - timedelta(hours=48)),
            (Kind.REMINDER_2, "confirmed"),
            (Kind.BOOKING_CONFIRMATION, NOW),
        ]

    def test_by_default_reminders_go_to_an_unconfirmed_appointment(self) -> None:
        decisions = plan_reminders(
            START, [FIRST, ASKS], window(pauses=NO_PAUSES), live={}, settled=set()
        )
        assert outcomes(decisions) == [
            (Kind.REMINDER_1, START - timedelta(hours=48)),
            (Kind.REMINDER_2, START - timedelta(hours=24)),
        ]


class TestCancelReason:
    def test_switching_reminders_off_cancels_reminders_only(self) -> None:
        push = booked(START, sms_reminders=False, switched_off=True)
        reminder = pending(Kind.REMINDER_1, START)
        assert cancel_reason(reminder, push) == "reminders_off"
        assert is_stale(reminder, push)
        confirmation = pending(Kind.BOOKING_CONFIRMATION, START)
        assert cancel_reason(confirmation, push) is None
        assert not is_stale(confirmation, push)

    def test_a_confirmation_cancels_what_asks_for_it(self) -> None:
        push = booked(START, confirmed=True, just_confirmed=True)
        for kind in (Kind.REMINDER_2, Kind.BOOKING_CONFIRMATION):
            assert cancel_reason(pending(kind, START), push) == "confirmed"
            assert is_stale(pending(kind, START), push)
        assert cancel_reason(pending("notice", START), push) is None

    def test_only_a_booked_appointment_gives_a_reason(self) -> None:
        push = booked(
            START, status=AppointmentStatus.CANCELLED, switched_off=True, just_confirmed=True
        )
        assert cancel_reason(pending(Kind.REMINDER_1, START), push) is None


class TestPushOf:
    def appointment(self, **fields: object) -> Appointment:
        values: dict[str, object] = {
            "clinic_id": uuid.uuid4(),
            "appointment_id": "A1",
            "patient_id": PATIENT,
            "practitioner": "Tannlege Hansen",
            "start_at": START,
            "end_at": START + timedelta(minutes=30),
            "status": AppointmentStatus.BOOKED.value,
        } | fields
        return Appointment(**values)

    def test_the_stored_appointment_with_what_this_push_changed(self) -> None:
        stored = self.appointment(
            status=AppointmentStatus.CANCELLED.value,
            sms_reminders=False,
            confirmation=Confirmation.CONFIRMED.value,
        )
        push = push_of(
            stored,
            AppointmentStatus.BOOKED,
            moved=True,
            retext=True,
            switched_off=True,
            just_confirmed=True,
        )
        assert push == Push(
            AppointmentStatus.CANCELLED,
            START,
            START + timedelta(minutes=30),
            PATIENT,
            AppointmentStatus.BOOKED,
            moved=True,
            retext=True,
            sms_reminders=False,
            switched_off=True,
            confirmed=True,
            just_confirmed=True,
        )
        assert type(push.status) is AppointmentStatus

    def test_a_new_unconfirmed_appointment_changes_nothing(self) -> None:
        assert push_of(self.appointment(), None) == Push(
            AppointmentStatus.BOOKED, START, START + timedelta(minutes=30), PATIENT, None
        )


class TestNowTiming:
    def test_now_valid_for_the_given_time(self) -> None:
        timing = now_timing(window(pauses=NO_PAUSES), timedelta(hours=6))
        assert timing == Timing(NOW, NOW, NOW + timedelta(hours=6), SendKind.FLEXIBLE)

    def test_in_a_pause_it_waits_for_the_morning(self) -> None:
        night = oslo(2026, 11, 30, 22, 0)
        timing = now_timing(window(now=night), timedelta(hours=24))
        morning = oslo(2026, 12, 1, 8, 0)
        assert timing == Timing(night, morning, night + timedelta(hours=24), SendKind.FLEXIBLE)

    def test_no_time_before_it_expires_is_no_send_window(self) -> None:
        night = oslo(2026, 11, 30, 22, 0)
        assert now_timing(window(now=night), timedelta(hours=1)) == "no_send_window"
