"""The sandbox's delivery reports, stored like a provider's but received at their due time.

The applier (`reports.apply_stored_reports`) takes a stored report once it is due; a
wake-up job for that second brings it on time, and the sweep applies it when Redis lost
the job. Nothing of a report lives only in Redis.
"""

import uuid
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.inserts import insert_new
from app.core.jobs import push_jobs
from app.deliveries.models import delivery_report_table
from app.deliveries.reports import REPORT_KEY, ParsedReport, apply_job, report_row
from app.deliveries.service import DeliveryReport
from app.messages.models import message_table

SANDBOX = "sandbox"

_message = message_table.c


async def store_simulated_reports(
    engine: AsyncEngine, redis: ArqRedis | None, reports: list[DeliveryReport], *, now: datetime
) -> None:
    """Commit the reports (the messages were committed as sending before the provider call),
    then wake the applier for each second a report falls due."""
    ids = {report.message_id for report in reports}
    async with engine.begin() as connection:
        clinics = dict(
            (
                await connection.execute(
                    select(_message.id, _message.clinic_id).where(_message.id.in_(ids))
                )
            ).all()
        )
        rows = [
            _row(report, clinics[report.message_id])
            for report in reports
            if report.message_id in clinics
        ]
        await insert_new(connection, delivery_report_table, rows, unique=REPORT_KEY)
    due = {int(report.occurred_at.timestamp()): report.occurred_at for report in reports}
    await push_jobs(redis, [apply_job(at) for at in due.values()], now=now)


def _row(report: DeliveryReport, clinic_id: uuid.UUID) -> dict[str, Any]:
    parsed = ParsedReport(
        external_id=f"{SANDBOX}-{report.message_id}",
        status_code=report.state.value,
        message_id=report.message_id,
        state=report.state,
        detail=report.detail,
        occurred_at=report.occurred_at,
    )
    return report_row(parsed, clinic_id=clinic_id, provider=SANDBOX, now=report.occurred_at)
