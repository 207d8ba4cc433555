"""Claiming due messages: one locking statement marks a batch `sending`; paused clinics'
messages go back to wait for the next stretch, and those a spending cap holds back are
cancelled (`app.caps.enforce`)."""

import uuid
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Update, any_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.caps.enforce import hold_back_capped
from app.caps.usage import Claim
from app.clinic_settings.models import ClinicSettings, clinic_settings_table
from app.clinic_settings.service import send_window_rules
from app.clinics.models import Clinic
from app.core.models import table_of
from app.messages.models import FailureReason, MessageStatus, message_table
from app.messages.record import ClaimedMessage, Outcome, plan_later, record
from app.messages.window import is_paused
from app.patients.models import Patient

_message = message_table.c
_settings = clinic_settings_table.c
patient_table = table_of(Patient)
_patient = patient_table.c
_CLAIMED_FIELDS = len(fields(ClaimedMessage))


async def settings_of(
    session: AsyncSession, clinic_ids: set[uuid.UUID]
) -> dict[uuid.UUID, ClinicSettings]:
    rows = await session.execute(select(ClinicSettings).where(_settings.clinic_id.in_(clinic_ids)))
    return {row.clinic_id: row for row in rows.scalars()}


async def webhook_secrets(
    session: AsyncSession, clinic_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(col(Clinic.id), col(Clinic.webhook_secret)).where(col(Clinic.id).in_(clinic_ids))
    )
    return dict(rows.all())


def claim_statement(now: datetime, limit: int, worker_id: str, *, dialect: str) -> Update:
    """Marks up to `limit` due messages `sending` and answers them."""
    # A materialized CTE runs the locking SELECT once; an IN (subquery … LIMIT) may be
    # re-run by PostgreSQL and, with SKIP LOCKED, claim more rows than the limit.
    due = (
        select(_message.id)
        .join(clinic_settings_table, _settings.clinic_id == _message.clinic_id)
        .where(
            _message.status == MessageStatus.PENDING,
            _message.next_attempt_at <= now,
            _message.expires_at > now,
            _message.to_number.is_not(None),
            _settings.sms_enabled.is_(True),
        )
        .order_by(_message.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=message_table)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claimed_ids = select(due.c.id)
    return (
        update(message_table)
        # The CTE locked its rows as pending: no status test here, which would lead the
        # planner to read every pending row (the partial index) instead of the claimed ids.
        # On PostgreSQL the ids come as one array, looked up in the primary key: a join
        # with the CTE may be planned as a hash join over the whole table.
        .where(
            _message.id == any_(func.array(claimed_ids.scalar_subquery()))
            if dialect == "postgresql"
            else _message.id.in_(claimed_ids)
        )
        .values(
            status=MessageStatus.SENDING,
            claimed_at=now,
            claimed_by=worker_id,
            attempts=_message.attempts + 1,
            # Known before the provider call: a report for it, even one that comes before
            # the send is recorded or after the sweep settled it, is checked against it.
            provider=select(_settings.provider)
            .where(_settings.clinic_id == _message.clinic_id)
            .scalar_subquery(),
        )
        .returning(
            _message.id,
            _message.clinic_id,
            _message.to_number,
            _message.text,
            _message.allow_reply,
            _message.expires_at,
            _message.attempts,
            _message.type,
            _message.cost,
            _message.patient_id,
            # For the stale-number guard (`_is_stale`), read in the same statement.
            select(_patient.mobile)
            .where(_patient.id == _message.patient_id)
            .scalar_subquery()
            .label("mobile"),
            # Only for a message to another number than the patient's: most go to that
            # number, and their guardians need no decoding.
            select(case((_patient.mobile == _message.to_number, None), else_=_patient.guardians))
            .where(_patient.id == _message.patient_id)
            .scalar_subquery()
            .label("guardians"),
        )
    )


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, worker_id: str
) -> tuple[list[ClaimedMessage], dict[uuid.UUID, ClinicSettings]]:
    """Mark up to `limit` due messages `sending` in one statement; give back paused ones
    and cancel those a cap holds back."""
    dialect = session.get_bind().dialect.name
    rows = (await session.execute(claim_statement(now, limit, worker_id, dialect=dialect))).all()
    stale = {row.id for row in rows if _is_stale(row)}
    if stale:
        await _fail_stale(session, stale, now)
    claimed = [ClaimedMessage(*row[:_CLAIMED_FIELDS]) for row in rows if row.id not in stale]
    if not claimed:
        return [], {}
    settings = await settings_of(session, {message.clinic_id for message in claimed})
    paused = {
        clinic_id
        for clinic_id, row in settings.items()
        if is_paused(now, send_window_rules(row), ZoneInfo(row.time_zone))
    }
    if paused:
        await _give_back_paused(session, claimed, settings, paused, now)
    going = [m for m in claimed if m.clinic_id not in paused]
    return await hold_back_capped(session, going, settings, Claim(worker_id, now)), settings


def _is_stale(row: Row[Any]) -> bool:
    """The last guard: a patient's message whose number is no longer one of the patient's
    (a change committed after the message was made or re-addressed) fails, never goes."""
    if row.patient_id is None:
        return False
    guardians = row.guardians or []
    return row.to_number not in {row.mobile, *(guardian.get("mobile") for guardian in guardians)}


async def _fail_stale(session: AsyncSession, stale: set[uuid.UUID], now: datetime) -> None:
    outcome = Outcome()
    outcome.failed = [
        {
            "id": message_id,
            "failure_reason": FailureReason.NUMBER_CHANGED.value,
            "failure_detail": None,
        }
        for message_id in stale
    ]
    await record(session, outcome, now=now)


async def _give_back_paused(
    session: AsyncSession,
    claimed: Sequence[ClaimedMessage],
    settings: dict[uuid.UUID, ClinicSettings],
    paused: set[uuid.UUID],
    now: datetime,
) -> None:
    """A due message whose clinic is paused right now waits for the next stretch."""
    outcome = Outcome()
    for message in claimed:
        if message.clinic_id in paused:
            plan_later(outcome, message, settings[message.clinic_id], now, now, undo_attempt=True)
    await record(session, outcome, now=now)
