"""Per-clinic rules for appointment messages. Reads never write: a clinic without a row has
the defaults until it saves its rules."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidInput
from app.reminder_rules.models import ReminderRules
from app.reminder_rules.schemas import (
    REMINDER_NUMBERS,
    RecallRule,
    ReminderRule,
    ReminderRulesPublic,
    ReminderRulesWrite,
    ThankYouRule,
)
from app.templates.defaults import TemplateType


@dataclass(frozen=True, slots=True)
class Reminder:
    number: int
    enabled: bool
    hours_before: int
    min_lead_hours: int


async def get_rules(session: AsyncSession, clinic_id: uuid.UUID) -> ReminderRules:
    """The clinic's rules (the defaults, unsaved, if it never saved any)."""
    row = await session.get(ReminderRules, clinic_id)
    return row if row is not None else ReminderRules(clinic_id=clinic_id)


def reminders_of(rules: ReminderRules) -> list[Reminder]:
    return [
        Reminder(
            number=number,
            enabled=getattr(rules, f"reminder_{number}_enabled"),
            hours_before=getattr(rules, f"reminder_{number}_hours_before"),
            min_lead_hours=getattr(rules, f"reminder_{number}_min_lead_hours"),
        )
        for number in REMINDER_NUMBERS
    ]


def to_public(rules: ReminderRules) -> ReminderRulesPublic:
    reminders = {
        f"reminder_{r.number}": ReminderRule(
            enabled=r.enabled, hours_before=r.hours_before, min_lead_hours=r.min_lead_hours
        )
        for r in reminders_of(rules)
    }
    return ReminderRulesPublic(
        **reminders,
        booking_confirmation=rules.booking_confirmation,
        cancellation_confirmation=rules.cancellation_confirmation,
        thank_you=ThankYouRule(
            enabled=rules.thank_you_enabled, hours_after=rules.thank_you_hours_after
        ),
        recall=RecallRule(
            enabled=rules.recall_enabled,
            interval_months=rules.recall_interval_months,
            template_type=TemplateType(rules.recall_template_type),
            days_before_due=rules.recall_days_before_due,
            send_hour=rules.recall_send_hour,
            repeat_after_days=rules.recall_repeat_after_days,
            max_attempts=rules.recall_max_attempts,
            booking_url=rules.recall_booking_url,
        ),
        updated_at=rules.updated_at,
    )


def _check_order(data: ReminderRulesWrite) -> None:
    """Enabled reminders go in number order: each fewer hours before than the one before."""
    previous: tuple[int, ReminderRule] | None = None
    for number in REMINDER_NUMBERS:
        rule: ReminderRule = getattr(data, f"reminder_{number}")
        if not rule.enabled:
            continue
        if previous is not None and rule.hours_before >= previous[1].hours_before:
            raise InvalidInput.for_field(
                f"reminder_{number}.hours_before",
                f"must be fewer hours before the appointment than reminder {previous[0]} "
                f"({previous[1].hours_before}): reminders go in number order",
                "out_of_order",
            )
        previous = (number, rule)


async def replace_rules(
    session: AsyncSession, *, clinic_id: uuid.UUID, data: ReminderRulesWrite, now: datetime
) -> ReminderRules:
    _check_order(data)
    row = await session.get(ReminderRules, clinic_id)
    if row is None:
        row = ReminderRules(clinic_id=clinic_id)
        session.add(row)
    for number in REMINDER_NUMBERS:
        rule: ReminderRule = getattr(data, f"reminder_{number}")
        setattr(row, f"reminder_{number}_enabled", rule.enabled)
        setattr(row, f"reminder_{number}_hours_before", rule.hours_before)
        setattr(row, f"reminder_{number}_min_lead_hours", rule.min_lead_hours)
    row.booking_confirmation = data.booking_confirmation
    row.cancellation_confirmation = data.cancellation_confirmation
    row.thank_you_enabled = data.thank_you.enabled
    row.thank_you_hours_after = data.thank_you.hours_after
    row.recall_enabled = data.recall.enabled
    row.recall_interval_months = data.recall.interval_months
    row.recall_template_type = data.recall.template_type.value
    row.recall_days_before_due = data.recall.days_before_due
    row.recall_send_hour = data.recall.send_hour
    row.recall_repeat_after_days = data.recall.repeat_after_days
    row.recall_max_attempts = data.recall.max_attempts
    row.recall_booking_url = data.recall.booking_url
    row.updated_at = now
    return row
