"""Per-clinic rules for appointment messages: reading them as the scheduler and the API see
them, and replacing them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.service import get_clinic_settings
from app.core.errors import InvalidInput
from app.reminder_rules import readiness
from app.reminder_rules.models import ReminderRules
from app.reminder_rules.schemas import (
    REMINDER_NUMBERS,
    LaterReminderRule,
    RecallRule,
    ReminderRule,
    ReminderRulesPublic,
    ReminderRulesWrite,
    ThankYouRule,
)
from app.reminder_rules.stored import get_rules
from app.templates.defaults import TemplateType


@dataclass(frozen=True, slots=True)
class Reminder:
    number: int
    enabled: bool
    hours_before: int
    min_lead_hours: int
    only_if_unconfirmed: bool = False
    """Reminders 2 and 3 may skip a confirmed appointment; reminder 1 always goes."""


def reminders_of(rules: ReminderRules) -> list[Reminder]:
    return [
        Reminder(
            number=number,
            enabled=getattr(rules, f"reminder_{number}_enabled"),
            hours_before=getattr(rules, f"reminder_{number}_hours_before"),
            min_lead_hours=getattr(rules, f"reminder_{number}_min_lead_hours"),
            only_if_unconfirmed=getattr(rules, f"reminder_{number}_only_if_unconfirmed", False),
        )
        for number in REMINDER_NUMBERS
    ]


def to_public(rules: ReminderRules) -> ReminderRulesPublic:
    first, *later = reminders_of(rules)
    reminders: dict[str, ReminderRule] = {
        "reminder_1": ReminderRule(
            enabled=first.enabled,
            hours_before=first.hours_before,
            min_lead_hours=first.min_lead_hours,
        )
    }
    for r in later:
        reminders[f"reminder_{r.number}"] = LaterReminderRule(
            enabled=r.enabled,
            hours_before=r.hours_before,
            min_lead_hours=r.min_lead_hours,
            only_if_unconfirmed=r.only_if_unconfirmed,
        )
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


def _columns(data: ReminderRulesWrite) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for number in REMINDER_NUMBERS:
        rule: ReminderRule = getattr(data, f"reminder_{number}")
        columns[f"reminder_{number}_enabled"] = rule.enabled
        columns[f"reminder_{number}_hours_before"] = rule.hours_before
        columns[f"reminder_{number}_min_lead_hours"] = rule.min_lead_hours
        if isinstance(rule, LaterReminderRule):
            columns[f"reminder_{number}_only_if_unconfirmed"] = rule.only_if_unconfirmed
    return columns | {
        "booking_confirmation": data.booking_confirmation,
        "cancellation_confirmation": data.cancellation_confirmation,
        "thank_you_enabled": data.thank_you.enabled,
        "thank_you_hours_after": data.thank_you.hours_after,
        "recall_enabled": data.recall.enabled,
        "recall_interval_months": data.recall.interval_months,
        "recall_template_type": data.recall.template_type.value,
        "recall_days_before_due": data.recall.days_before_due,
        "recall_send_hour": data.recall.send_hour,
        "recall_repeat_after_days": data.recall.repeat_after_days,
        "recall_max_attempts": data.recall.max_attempts,
        "recall_booking_url": data.recall.booking_url,
    }


async def replace_rules(
    session: AsyncSession, *, clinic_id: uuid.UUID, data: ReminderRulesWrite, now: datetime
) -> ReminderRules:
    """Refused (422, nothing stored) when an enabled rule's template needs a value its
    messages would not have, e.g. [Businessphone] while the clinic has no business_phone."""
    _check_order(data)
    columns = _columns(data)
    settings = await get_clinic_settings(session, clinic_id)
    texts = await readiness.stored_texts(session, clinic_id, now)
    readiness.require_ready(
        ReminderRules(clinic_id=clinic_id, **columns),
        texts,
        business_phone=settings.business_phone,
        change="rules",
    )
    row = await get_rules(session, clinic_id)
    for name, value in columns.items():
        setattr(row, name, value)
    row.updated_at = now
    session.add(row)
    return row
