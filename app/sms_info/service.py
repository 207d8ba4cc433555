"""SMS information (§9): counters, the last exchanges with the provider, the worker."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.caps.usage import month_spend, periods_at
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings, pause_rules_of
from app.deliveries.models import delivery_report_table
from app.messages.models import STATUS_CODES, DeliveryState, MessageStatus, message_table
from app.replies.models import reply_table
from app.sms.schemas import Cost
from app.sms.service import money
from app.sms_info.providers import provider_statuses, report_counts
from app.sms_info.schemas import (
    LastError,
    LastResult,
    MonthlySpend,
    SentCounts,
    SentPeriods,
    SmsInfo,
    WorkerInfo,
)
from app.worker.models import WorkerStatus

_message = message_table.c
_report = delivery_report_table.c
_reply = reply_table.c
HEARTBEATS_MISSED_BEFORE_DEAD = 3


def period_starts(now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """Midnight today and on the 1st of this month, local wall-clock, as UTC instants."""
    local = now.astimezone(ZoneInfo(time_zone))
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today.replace(day=1)


def _sums(since: datetime | None) -> list[ColumnElement[Any]]:
    inside = _message.sent_at >= since if since is not None else _message.sent_at.is_not(None)
    return [
        func.coalesce(func.sum(case((inside, 1), else_=0)), 0),
        func.coalesce(func.sum(case((inside, _message.segments), else_=0)), 0),
        func.coalesce(func.sum(case((inside, _message.cost), else_=0)), 0),
    ]


async def _sent_counts(
    session: AsyncSession, clinic_id: uuid.UUID, now: datetime, time_zone: str, currency: str
) -> tuple[SentPeriods, datetime | None]:
    today, month = period_starts(now, time_zone)
    row = (
        await session.execute(
            select(*_sums(today), *_sums(month), *_sums(None), func.max(_message.sent_at)).where(
                _message.clinic_id == clinic_id,
                _message.status.in_([MessageStatus.SENT, MessageStatus.ANSWERED]),
            )
        )
    ).one()

    def counts(offset: int) -> SentCounts:
        messages, segments, cost = row[offset : offset + 3]
        return SentCounts(
            messages=int(messages),
            segments=int(segments),
            cost=Cost(amount=money(Decimal(str(cost))), currency=currency),
        )

    return SentPeriods(today=counts(0), this_month=counts(3), total=counts(6)), row[9]


async def _monthly_spend(
    session: AsyncSession, settings: ClinicSettings, now: datetime
) -> MonthlySpend:
    spent = await month_spend(session, settings.clinic_id, periods_at(now, settings.time_zone))
    cap = settings.monthly_spend_cap

    def cost(amount: Decimal) -> Cost:
        return Cost(amount=money(amount), currency=settings.currency)

    return MonthlySpend(
        spent=cost(spent),
        cap=None if cap is None else cost(cap),
        remaining=None if cap is None else cost(max(cap - spent, Decimal("0"))),
    )


async def _last_received(session: AsyncSession, clinic_id: uuid.UUID) -> datetime | None:
    report = await session.execute(
        select(func.max(_report.received_at)).where(_report.clinic_id == clinic_id)
    )
    reply = await session.execute(
        select(func.max(_reply.received_at)).where(_reply.clinic_id == clinic_id)
    )
    moments = [moment for moment in (report.scalar(), reply.scalar()) if moment is not None]
    return max(moments, default=None)


async def _last_error(session: AsyncSession, clinic_id: uuid.UUID) -> LastError | None:
    failed = (
        await session.execute(
            select(
                _message.failed_at, _message.failure_detail, _message.failure_reason, _message.id
            )
            .where(
                _message.clinic_id == clinic_id,
                _message.status == MessageStatus.FAILED,
                _message.failed_at.is_not(None),
            )
            .order_by(_message.failed_at.desc())
            .limit(1)
        )
    ).first()
    undelivered = (
        await session.execute(
            select(_report.received_at, _report.detail, _report.message_id)
            .where(_report.clinic_id == clinic_id, _report.state == DeliveryState.UNDELIVERED)
            .order_by(_report.received_at.desc())
            .limit(1)
        )
    ).first()
    candidates = []
    if failed is not None and failed.failed_at is not None:
        text = failed.failure_detail or failed.failure_reason or "failed"
        candidates.append(LastError(at=failed.failed_at, text=text, message_id=failed.id))
    if undelivered is not None:
        text = undelivered.detail or "not delivered"
        candidates.append(
            LastError(at=undelivered.received_at, text=text, message_id=undelivered.message_id)
        )
    return max(candidates, key=lambda error: error.at, default=None)


async def _last_result(session: AsyncSession, clinic_id: uuid.UUID) -> LastResult | None:
    finished_at = func.coalesce(_message.failed_at, _message.sent_at)
    row = (
        await session.execute(
            select(
                finished_at,
                _message.id,
                _message.status,
                _message.delivery,
                _message.failure_detail,
            )
            .where(_message.clinic_id == clinic_id, finished_at.is_not(None))
            .order_by(finished_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    status = MessageStatus(row.status)
    return LastResult(
        at=row[0],
        message_id=row.id,
        status=status.value,
        status_code=STATUS_CODES[status],
        delivery=row.delivery,
        detail=row.failure_detail,
    )


async def _worker(
    session: AsyncSession, now: datetime, heartbeat_interval: timedelta
) -> WorkerInfo | None:
    status = (
        await session.execute(
            select(WorkerStatus).order_by(WorkerStatus.last_beat_at.desc()).limit(1)  # type: ignore[attr-defined]
        )
    ).scalar_one_or_none()
    if status is None:
        return None
    alive = now - status.last_beat_at <= heartbeat_interval * HEARTBEATS_MISSED_BEFORE_DEAD
    return WorkerInfo(
        version=status.version,
        host=status.host,
        mode=status.mode,
        started_at=status.started_at,
        last_beat_at=status.last_beat_at,
        sweep_interval_seconds=status.sweep_interval_seconds,
        alive=alive,
    )


async def sms_info(
    session: AsyncSession, *, clinic_id: uuid.UUID, now: datetime, heartbeat_interval: timedelta
) -> SmsInfo:
    settings = await get_clinic_settings(session, clinic_id)
    sent, last_sent_at = await _sent_counts(
        session, clinic_id, now, settings.time_zone, settings.currency
    )
    return SmsInfo(
        sms_enabled=settings.sms_enabled,
        provider=settings.provider,
        time_zone=settings.time_zone,
        sent=sent,
        monthly_spend=await _monthly_spend(session, settings, now),
        last_sent_at=last_sent_at,
        last_received_at=await _last_received(session, clinic_id),
        last_error=await _last_error(session, clinic_id),
        last_result=await _last_result(session, clinic_id),
        worker=await _worker(session, now, heartbeat_interval),
        providers=await provider_statuses(session, settings, now),
        reports=await report_counts(session, clinic_id),
        pause_rules=pause_rules_of(settings),
    )
