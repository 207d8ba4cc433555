"""SMS information on the providers: each one's circuit and last error, and the messages
whose delivery is still waiting for a report or was settled without one."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.failover.circuit import Circuit, state_at
from app.failover.store import circuits_of
from app.messages.models import DeliveryReason, DeliveryState, MessageStatus, message_table
from app.sms_info.schemas import ProviderError, ProviderStatus, ReportCounts

_message = message_table.c


async def provider_statuses(
    session: AsyncSession, settings: ClinicSettings, now: datetime
) -> list[ProviderStatus]:
    roles = [("primary", settings.provider)]
    if settings.secondary_provider:
        roles.append(("secondary", settings.secondary_provider))
    keys = [(settings.clinic_id, provider) for _, provider in roles]
    circuits = await circuits_of(session, keys)
    last_sent = await _last_sent_by_provider(session, settings.clinic_id)
    statuses = []
    for role, provider in roles:
        circuit = circuits.get((settings.clinic_id, provider), Circuit())
        error = None
        if circuit.last_error and circuit.last_error_at:
            error = ProviderError(at=circuit.last_error_at, text=circuit.last_error)
        statuses.append(
            ProviderStatus(
                provider=provider,
                role=role,
                state=state_at(circuit.open_until, now).value,
                consecutive_failures=circuit.consecutive_failures,
                open_until=circuit.open_until,
                last_error=error,
                last_sent_at=last_sent.get(provider),
            )
        )
    return statuses


async def _last_sent_by_provider(
    session: AsyncSession, clinic_id: uuid.UUID
) -> dict[str, datetime]:
    rows = await session.execute(
        select(_message.provider, func.max(_message.sent_at))
        .where(_message.clinic_id == clinic_id, _message.provider_message_id.is_not(None))
        .group_by(_message.provider)
    )
    return {provider: moment for provider, moment in rows.all() if provider and moment}


async def report_counts(session: AsyncSession, clinic_id: uuid.UUID) -> ReportCounts:
    awaiting = (_message.delivery == DeliveryState.ACCEPTED) & _message.status.in_(
        [MessageStatus.SENT, MessageStatus.ANSWERED]
    )
    no_report = _message.delivery_reason == DeliveryReason.NO_REPORT
    row = (
        await session.execute(
            select(
                func.count().filter(awaiting),
                func.count().filter(no_report),
            ).where(_message.clinic_id == clinic_id)
        )
    ).one()
    return ReportCounts(awaiting_report=int(row[0]), no_report=int(row[1]))
