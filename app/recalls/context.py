"""What recall timing reads of a clinic: its settings, its recall rule and the calendar."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import send_window_rules
from app.core.errors import NotFound
from app.recalls.planning import Calendar, RecallTiming
from app.reminder_rules.models import ReminderRules


@dataclass(frozen=True, slots=True)
class RecallContext:
    clinic_id: uuid.UUID
    settings: ClinicSettings
    rules: ReminderRules
    timing: RecallTiming
    calendar: Calendar

    @property
    def now(self) -> datetime:
        return self.calendar.now

    @property
    def sending(self) -> bool:
        """Whether recalls go at all: the rule is on and the clinic sends SMS."""
        return self.rules.recall_enabled and self.settings.sms_enabled


async def load_context(
    session: AsyncSession, clinic_id: uuid.UUID, now: datetime, *, lock: bool = False
) -> RecallContext:
    """With `lock`, the clinic's settings row is held until the transaction ends: one
    planner at a time per clinic, so two never both see room under the daily cap."""
    statement = (
        select(ClinicSettings, ReminderRules)
        .outerjoin(ReminderRules, col(ReminderRules.clinic_id) == col(ClinicSettings.clinic_id))
        .where(col(ClinicSettings.clinic_id) == clinic_id)
    )
    if lock:
        statement = statement.with_for_update(of=ClinicSettings)
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        raise NotFound("This clinic has no settings.")
    settings, rules = row
    rules = rules or ReminderRules(clinic_id=clinic_id)
    timing = RecallTiming(
        days_before_due=rules.recall_days_before_due,
        send_hour=rules.recall_send_hour,
        repeat_after_days=rules.recall_repeat_after_days,
        max_attempts=rules.recall_max_attempts,
    )
    calendar = Calendar(send_window_rules(settings), ZoneInfo(settings.time_zone), now)
    return RecallContext(clinic_id, settings, rules, timing, calendar)
