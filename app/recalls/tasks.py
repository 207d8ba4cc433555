"""The recall planner: a worker cron job that makes the recall messages due soon."""

import logging
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.clinic_settings.models import ClinicSettings
from app.core.db import session_scope
from app.core.jobs import push_jobs, take_pending_jobs
from app.recalls.sending import PlanStats, plan_clinic
from app.reminder_rules.models import ReminderRules

logger = logging.getLogger(__name__)

PLAN_JOB = "recalls.plan"

JobContext = dict[str, Any]


async def plan(ctx: JobContext) -> dict[str, int]:
    """Each clinic that sends recalls in its own transaction: one clinic's failure is
    logged and the others go on; the next run tries it again."""
    clock = ctx["clock"]
    async for session in session_scope(ctx["sessionmaker"]):
        statement = (
            select(col(ReminderRules.clinic_id))
            .join(ClinicSettings, col(ClinicSettings.clinic_id) == col(ReminderRules.clinic_id))
            .where(col(ReminderRules.recall_enabled), col(ClinicSettings.sms_enabled))
        )
        clinic_ids = list((await session.execute(statement)).scalars())
    total = PlanStats()
    for clinic_id in clinic_ids:
        try:
            async for session in session_scope(ctx["sessionmaker"]):
                stats = await plan_clinic(session, clinic_id, clock.now())
        except Exception:
            logger.exception("recall planning failed", extra={"clinic_id": str(clinic_id)})
            continue
        await push_jobs(ctx["redis"], take_pending_jobs(session), now=clock.now())
        for name, value in asdict(stats).items():
            setattr(total, name, getattr(total, name) + value)
    if total.made or total.skipped:
        logger.info("recalls planned", extra=asdict(total))
    return asdict(total)
