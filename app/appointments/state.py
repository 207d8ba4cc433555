"""An appointment's reminder state, the appointment book's icons (§7): a pure function of its
messages and the clock."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from app.appointments.scheduling import REMINDER_KINDS, MessageFacts
from app.messages.models import DeliveryState, MessageStatus

AWAITING_AFTER = timedelta(hours=1)
AT_RISK_WITHIN = timedelta(hours=4)


class ReminderState(StrEnum):
    NONE = "none"
    SCHEDULED = "scheduled"
    SENT_UNCONFIRMED = "sent_unconfirmed"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    AWAITING_DELIVERY = "awaiting_delivery"
    AT_RISK = "at_risk"
    FAILED = "failed"
    SKIPPED = "skipped"


# Among the recipients of one reminder (patient, guardians) the best news counts.
_BEST_FIRST = (
    ReminderState.DELIVERED,
    ReminderState.ACCEPTED,
    ReminderState.AWAITING_DELIVERY,
    ReminderState.SENT_UNCONFIRMED,
    ReminderState.AT_RISK,
    ReminderState.FAILED,
)
# Plain values: a day's list tests thousands of messages against them.
_WAITING = frozenset({MessageStatus.PENDING.value, MessageStatus.SENDING.value})
_WENT_OUT = frozenset({MessageStatus.SENT.value, MessageStatus.ANSWERED.value})
_CANCELLED = MessageStatus.CANCELLED.value
_REMINDERS = frozenset(kind.value for kind in REMINDER_KINDS)


def message_state(message: MessageFacts, *, start: datetime, now: datetime) -> ReminderState:
    """The state one (not cancelled) message gives its appointment."""
    if message.status in _WAITING:
        return ReminderState.SCHEDULED
    if message.status == MessageStatus.FAILED or message.delivery == DeliveryState.UNDELIVERED:
        return ReminderState.FAILED
    if message.delivery == DeliveryState.DELIVERED or message.status == MessageStatus.ANSWERED:
        return ReminderState.DELIVERED
    if message.delivery == DeliveryState.UNKNOWN:
        return ReminderState.SENT_UNCONFIRMED
    if start - now < AT_RISK_WITHIN:
        return ReminderState.AT_RISK
    if message.sent_at is not None and now - message.sent_at > AWAITING_AFTER:
        return ReminderState.AWAITING_DELIVERY
    return ReminderState.ACCEPTED


def combined_state(
    messages: Sequence[MessageFacts],
    *,
    start: datetime,
    now: datetime,
    skip_reason: str | None = None,
) -> tuple[ReminderState, str | None]:
    """The state of a set of messages made for the appointment starting at `start`: the
    latest one sent decides; before any is sent, `scheduled`; with none, the skip (if any).
    Messages made for another start time, and cancelled ones, do not count."""
    current = [m for m in messages if m.appointment_start_at == start and m.status != _CANCELLED]
    return current_state(current, start=start, now=now, skip_reason=skip_reason)


def current_state(
    current: Sequence[MessageFacts],
    *,
    start: datetime,
    now: datetime,
    skip_reason: str | None = None,
) -> tuple[ReminderState, str | None]:
    """`combined_state` of messages already known to be for `start` and not cancelled."""
    if not current:
        return (ReminderState.SKIPPED, skip_reason) if skip_reason else (ReminderState.NONE, None)
    sent = [m for m in current if m.status in _WENT_OUT and m.sent_at is not None]
    if sent:
        latest = max(sent, key=lambda m: m.moment).type
        states = {message_state(m, start=start, now=now) for m in sent if m.type == latest}
        return next(state for state in _BEST_FIRST if state in states), None
    if any(m.status in _WAITING for m in current):
        return ReminderState.SCHEDULED, None
    return ReminderState.FAILED, None


def reminder_state(
    messages: Sequence[MessageFacts],
    *,
    start: datetime,
    now: datetime,
    skip_reason: str | None = None,
) -> tuple[ReminderState, str | None]:
    """The appointment's icon: its reminders (1, 2, 3) only."""
    reminders = [m for m in messages if m.type in _REMINDERS]
    return combined_state(reminders, start=start, now=now, skip_reason=skip_reason)
