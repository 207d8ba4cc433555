"""When an appointment's messages go, or why they do not: pure functions, no database.

Reminders are due `hours_before` elapsed hours before the start (UTC arithmetic, so DST
holds) and are anchored: a pause moves them earlier so they still arrive before the
appointment, and they expire at its start. A reminder whose time has already passed goes
at once if the appointment is at least `min_lead_hours` away, else it is skipped.

Every message for an appointment is keyed by (appointment, kind, start time): a push that
changes nothing finds its messages already there, and a reminder already sent for a start
time is never sent again for that start time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from app.appointments.models import Appointment, AppointmentStatus, Confirmation
from app.messages.models import MessageStatus
from app.messages.schemas import SkipReason
from app.messages.window import Expired, PauseRules, SendKind, compute_send_time
from app.reminder_rules.service import Reminder

MIN_REMINDER_GAP = timedelta(hours=1)
"""A reminder that would go less than this after the one before it is a duplicate."""

THANK_YOU_VALIDITY = timedelta(hours=12)
"""A thank-you not sent within this long after it was due is not sent at all: it thanks for
the visit "i dag", and one due late in the evening still goes the next morning."""

AppointmentSkipReason = Literal[
    SkipReason,
    "too_late",
    "no_send_window",
    "template_error",
    "not_booked",
    "unknown_appointment",
    "confirmed",
    "reminders_off",
]
"""§7 codes plus: `too_late` (the appointment has started, or the message's time is long
past), `no_send_window` (the pause rules leave no time before the deadline),
`template_error` (the clinic's template needs a value we do not have), `not_booked` (the
appointment is cancelled, completed or a no-show), `unknown_appointment`, `confirmed` (the
patient has confirmed: a reminder that goes only if unconfirmed does not), `reminders_off`
(the appointment has `sms_reminders: false`)."""

RECIPIENT_REASONS: frozenset[str] = frozenset(
    {"no_mobile", "invalid_number", "no_consent", "opted_out", "policy_none", "sms_disabled"}
)
"""Skips that a later push may undo: the patient's number, consent or the settings changed.
Any other skip is about time and stays decided for that start time."""

UNDOABLE_REASONS: frozenset[str] = RECIPIENT_REASONS | {"reminders_off"}
"""Skips that each push decides again: the recipient's, and the appointment's own switch."""


class Kind(StrEnum):
    """The messages an appointment may get; each is also the template type it uses."""

    REMINDER_1 = "reminder_1"
    REMINDER_2 = "reminder_2"
    REMINDER_3 = "reminder_3"
    BOOKING_CONFIRMATION = "booking_confirmation"
    CANCELLATION_CONFIRMATION = "cancellation_confirmation"
    THANK_YOU = "thank_you"


REMINDER_KINDS = (Kind.REMINDER_1, Kind.REMINDER_2, Kind.REMINDER_3)
REPLY_KINDS: frozenset[str] = frozenset({*REMINDER_KINDS, Kind.BOOKING_CONFIRMATION})
"""The kinds that go before the appointment and ask for JA or NEI: a reply to one confirms or
cancels it."""
KIND_VALUES: frozenset[str] = frozenset(kind.value for kind in Kind)
_FINISHED = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


@dataclass(frozen=True, slots=True)
class Window:
    """The clinic's pause rules and zone, and the current time."""

    rules: PauseRules
    tz: ZoneInfo
    now: datetime


@dataclass(frozen=True, slots=True)
class Timing:
    send_after: datetime
    send_at: datetime
    expires_at: datetime
    kind: SendKind


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str
    """A `Kind`, or another template type for messages sent by hand (a notice)."""

    timing: Timing | None
    reason: AppointmentSkipReason | None

    @classmethod
    def of(cls, kind: str, outcome: Timing | AppointmentSkipReason) -> Decision:
        if isinstance(outcome, Timing):
            return cls(kind, outcome, None)
        return cls(kind, None, outcome)


class MessageFacts(NamedTuple):
    """What scheduling and the reminder state need to know of a stored message: a tuple,
    as a day's list reads hundreds of them straight from rows."""

    id: uuid.UUID
    type: str
    status: str
    delivery: str | None
    patient_id: uuid.UUID | None
    appointment_start_at: datetime | None
    next_attempt_at: datetime
    sent_at: datetime | None
    shared: bool = False
    """Shared with other appointments (one reminder per person per day): a change of this
    appointment takes it out of the message rather than cancelling it."""

    @property
    def moment(self) -> datetime:
        return self.sent_at or self.next_attempt_at


@dataclass(frozen=True, slots=True)
class Push:
    """An appointment as it is now, and its status before this push (None: new)."""

    status: AppointmentStatus
    start: datetime
    end: datetime
    patient_id: uuid.UUID
    previous_status: AppointmentStatus | None
    moved: bool = False
    """The start time or the patient changed: a new booking for whoever has it when."""
    retext: bool = False
    """The practitioner changed: texts already made name the wrong one."""
    sms_reminders: bool = True
    """False: the appointment gets no automatic reminders (confirmations still go)."""
    switched_off: bool = False
    """This push switched the reminders off: those waiting are cancelled (reason
    `reminders_off`). One added by hand afterwards is left to go."""
    confirmed: bool = False
    """The patient answered JA for this start: later reminders that ask only if
    unconfirmed do not go."""
    just_confirmed: bool = False
    """The JA has just come: texts waiting to ask for it are cancelled (reason `confirmed`)
    and made again where their rule lets them go to a confirmed appointment."""


def push_of(
    appointment: Appointment,
    previous_status: AppointmentStatus | None,
    *,
    moved: bool = False,
    retext: bool = False,
    switched_off: bool = False,
    just_confirmed: bool = False,
) -> Push:
    """The appointment as it is stored now, as a push."""
    return Push(
        AppointmentStatus(appointment.status),
        appointment.start_at,
        appointment.end_at,
        appointment.patient_id,
        previous_status,
        moved=moved,
        retext=retext,
        sms_reminders=appointment.sms_reminders,
        switched_off=switched_off,
        confirmed=appointment.confirmation == Confirmation.CONFIRMED,
        just_confirmed=just_confirmed,
    )


def _decide(
    due: datetime, expires_at: datetime, kind: SendKind, window: Window
) -> Timing | AppointmentSkipReason:
    decision = compute_send_time(
        due=due, expires_at=expires_at, kind=kind, rules=window.rules, tz=window.tz, now=window.now
    )
    if isinstance(decision, Expired):
        return "no_send_window"
    return Timing(max(due, window.now), decision.at, expires_at, kind)


def reminder_timing(
    start: datetime, reminder: Reminder, window: Window, *, by_hand: bool = False
) -> Timing | AppointmentSkipReason:
    """A reminder by hand skips the min-lead check: someone chose to send it now."""
    now, start = window.now, start.astimezone(UTC)  # UTC: elapsed hours, not wall-clock
    if start <= now:
        return "too_late" if by_hand else "within_min_lead"
    due = start - timedelta(hours=reminder.hours_before)
    if due <= now and not by_hand and start - now < timedelta(hours=reminder.min_lead_hours):
        return "within_min_lead"
    return _decide(due, start, SendKind.ANCHORED, window)


def confirmation_timing(
    start: datetime, window: Window, kind: SendKind
) -> Timing | AppointmentSkipReason:
    """Now, and before the appointment starts."""
    if start <= window.now:
        return "too_late"
    return _decide(window.now, start, kind, window)


def now_timing(window: Window, validity: timedelta) -> Timing | AppointmentSkipReason:
    """Now (pauses applied), valid for `validity`."""
    return _decide(window.now, window.now + validity, SendKind.FLEXIBLE, window)


def thank_you_timing(
    end: datetime, hours_after: int, window: Window
) -> Timing | AppointmentSkipReason:
    due = end.astimezone(UTC) + timedelta(hours=hours_after)
    expires_at = due + THANK_YOU_VALIDITY
    if expires_at <= window.now:
        return "too_late"
    return _decide(due, expires_at, SendKind.FLEXIBLE, window)


def plan_reminders(
    start: datetime,
    reminders: Sequence[Reminder],
    window: Window,
    *,
    live: Mapping[str, datetime],
    settled: Set[str],
    redo: Set[str] = frozenset(),
    sms_reminders: bool = True,
    confirmed: bool = False,
) -> list[Decision]:
    """The enabled reminders not yet decided for this start time, in number order; `redo`
    holds kinds whose pending message was just cancelled to be made again."""
    decisions: list[Decision] = []
    previous_at: datetime | None = None
    for reminder in reminders:
        kind = REMINDER_KINDS[reminder.number - 1]
        if kind in live:
            previous_at = live[kind]
            continue
        if kind in settled or not (reminder.enabled or kind in redo):
            continue
        outcome: Timing | AppointmentSkipReason
        if not sms_reminders:
            outcome = "reminders_off"
        elif confirmed and reminder.only_if_unconfirmed:
            outcome = "confirmed"
        else:
            outcome = reminder_timing(start, reminder, window)
        if isinstance(outcome, Timing):
            # Two reminders at once (both moved out of a weekend, or both already due at
            # booking) read as a duplicate: the earlier one does the job.
            if previous_at is not None and outcome.send_at < previous_at + MIN_REMINDER_GAP:
                outcome = "duplicate"
            else:
                previous_at = outcome.send_at
        decisions.append(Decision.of(kind, outcome))
    return decisions


@dataclass(frozen=True, slots=True)
class Rules:
    """The parts of the clinic's reminder rules that scheduling reads."""

    reminders: Sequence[Reminder]
    booking_confirmation: bool
    cancellation_confirmation: bool
    thank_you: bool
    thank_you_hours_after: int


def plan(
    push: Push,
    rules: Rules,
    window: Window,
    *,
    live: Mapping[str, datetime],
    settled: Set[str],
    redo: Set[str] = frozenset(),
) -> list[Decision]:
    """What this push adds: kinds in `live` (messages exist for this start) or `settled`
    (decided for this start already) are left alone; kinds in `redo` are made again."""
    decided = set(live) | set(settled)
    if push.status is AppointmentStatus.BOOKED:
        decisions = plan_reminders(
            push.start,
            rules.reminders,
            window,
            live=live,
            settled=settled,
            redo=redo,
            sms_reminders=push.sms_reminders,
            confirmed=push.confirmed,
        )
        booking = (
            push.previous_status is not AppointmentStatus.BOOKED
            or push.moved
            or Kind.BOOKING_CONFIRMATION in redo
        )
        if rules.booking_confirmation and booking and Kind.BOOKING_CONFIRMATION not in decided:
            timing = confirmation_timing(push.start, window, SendKind.ANCHORED)
            decisions.append(Decision.of(Kind.BOOKING_CONFIRMATION, timing))
        return decisions
    if push.status is AppointmentStatus.CANCELLED:
        was_booked = push.previous_status is AppointmentStatus.BOOKED
        kind = Kind.CANCELLATION_CONFIRMATION
        if rules.cancellation_confirmation and was_booked and kind not in decided:
            return [Decision.of(kind, confirmation_timing(push.start, window, SendKind.FLEXIBLE))]
        return []
    if push.status is AppointmentStatus.COMPLETED and rules.thank_you:
        if Kind.THANK_YOU not in decided:
            timing = thank_you_timing(push.end, rules.thank_you_hours_after, window)
            return [Decision.of(Kind.THANK_YOU, timing)]
    return []


def cancel_reason(message: MessageFacts, push: Push) -> AppointmentSkipReason | None:
    """Why a pending message of a booked appointment goes no more, where the practice system
    is told: its reminders were switched off, or the patient has just confirmed."""
    if push.status is not AppointmentStatus.BOOKED:
        return None
    if push.switched_off and message.type in REMINDER_KINDS:
        return "reminders_off"
    if push.just_confirmed and message.type in REPLY_KINDS:
        return "confirmed"
    return None


def is_stale(message: MessageFacts, push: Push) -> bool:
    """Whether a pending message of the appointment no longer fits it and must be cancelled."""
    if cancel_reason(message, push) is not None:
        return True
    if push.status in _FINISHED:
        keep = (
            push.status is AppointmentStatus.CANCELLED
            and message.type == Kind.CANCELLATION_CONFIRMATION
            and message.appointment_start_at == push.start
        )
        return not keep
    if push.status is AppointmentStatus.COMPLETED:
        return message.type in REPLY_KINDS or message.type == Kind.CANCELLATION_CONFIRMATION
    if message.type in (Kind.CANCELLATION_CONFIRMATION, Kind.THANK_YOU):
        return True
    if push.retext and message.type in REPLY_KINDS:
        return True
    if message.patient_id is not None and message.patient_id != push.patient_id:
        return True
    return message.appointment_start_at is not None and message.appointment_start_at != push.start


def live_kinds(messages: Sequence[MessageFacts], push: Push) -> dict[str, datetime]:
    """Kinds that already have a message for this start and patient (cancelled ones aside),
    with when it went or goes."""
    live: dict[str, datetime] = {}
    for message in messages:
        if (
            message.status != MessageStatus.CANCELLED
            and message.appointment_start_at == push.start
            and message.patient_id == push.patient_id
        ):
            live[message.type] = max(live.get(message.type, message.moment), message.moment)
    return live
