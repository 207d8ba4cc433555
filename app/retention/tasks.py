"""Retention: texts and provider details older than a clinic's `retention_days` go.

Rows, statuses, costs and counts stay, so SMS information still adds up. Each batch is
its own short transaction, so no table is locked for long."""

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, select, update
from sqlmodel import col

from app.clinic_settings.models import ClinicSettings
from app.core.db import session_scope
from app.deliveries.models import delivery_report_table
from app.messages.models import NOT_SENDING, MessageStatus, message_table
from app.replies.models import reply_table

PURGE_JOB = "retention_purge"
BATCH_SIZE = 1000
MAX_BATCHES = 20

JobContext = dict[str, Any]


async def _purge_batches(
    ctx: JobContext, table: Table, where: list[ColumnElement[bool]], *columns: str
) -> int:
    purged = 0
    for _ in range(MAX_BATCHES):
        async for session in session_scope(ctx["sessionmaker"]):
            ids = list(
                (await session.execute(select(table.c.id).where(*where).limit(BATCH_SIZE)))
                .scalars()
                .all()
            )
            if ids:
                await session.execute(
                    update(table).where(table.c.id.in_(ids)).values(dict.fromkeys(columns))
                )
        purged += len(ids)
        if len(ids) < BATCH_SIZE:
            break
    return purged


async def purge(ctx: JobContext) -> dict[str, int]:
    now = ctx["clock"].now()
    async for session in session_scope(ctx["sessionmaker"]):
        clinics = (
            await session.execute(
                select(col(ClinicSettings.clinic_id), col(ClinicSettings.retention_days))
            )
        ).all()
    messages = message_table
    totals = {"messages": 0, "replies": 0, "delivery_reports": 0}
    for clinic_id, days in clinics:
        cutoff = now - timedelta(days=days)
        totals["messages"] += await _purge_batches(
            ctx,
            messages,
            [
                messages.c.clinic_id == clinic_id,
                messages.c.created_at < cutoff,
                messages.c.status != MessageStatus.PENDING,
                # A message being sent keeps its text until it settles; and so the query
                # has the term of the clinic index it reads (ix_message_clinic_created).
                NOT_SENDING,
                messages.c.text.is_not(None),
            ],
            "text",
            "text_source",
        )
        totals["replies"] += await _purge_batches(
            ctx,
            reply_table,
            [
                reply_table.c.clinic_id == clinic_id,
                reply_table.c.received_at < cutoff,
                reply_table.c.text.is_not(None),
            ],
            "text",
        )
        totals["delivery_reports"] += await _purge_batches(
            ctx,
            delivery_report_table,
            [
                delivery_report_table.c.clinic_id == clinic_id,
                delivery_report_table.c.received_at < cutoff,
                delivery_report_table.c.detail.is_not(None),
            ],
            "detail",
        )
    return totals
