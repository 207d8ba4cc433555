"""Circuits in the database: one row per clinic and provider.

Why the database and not Redis: every worker reads and writes the same rows; the state
survives restarts and Redis outages (the send loop must keep working without Redis,
DESIGN §10); it changes in the same transaction that records the batch it describes, so
the two never disagree; and the API reads it for SMS information like every other figure.
The cost is one small locked update per clinic and provider per batch.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.failover.circuit import BatchHealth, Circuit, CircuitPolicy, after_batch
from app.failover.models import provider_circuit_table

_circuit = provider_circuit_table.c
CircuitKey = tuple[uuid.UUID, str]
_FIELDS = tuple(Circuit.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    clinic_id: uuid.UUID
    provider: str
    health: BatchHealth


async def circuits_of(
    session: AsyncSession, keys: Iterable[CircuitKey], *, lock: bool = False
) -> dict[CircuitKey, Circuit]:
    """The stored circuits among these; one never stored is closed (absent here)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    statement = select(_circuit.clinic_id, _circuit.provider, *(_circuit[f] for f in _FIELDS))
    statement = statement.where(tuple_(_circuit.clinic_id, _circuit.provider).in_(wanted))
    if lock:  # in key order, so two workers recording overlapping batches cannot deadlock
        statement = statement.order_by(_circuit.clinic_id, _circuit.provider).with_for_update()
    rows = await session.execute(statement)
    return {(row[0], row[1]): Circuit(*row[2:]) for row in rows}


async def claim_probe(
    session: AsyncSession, key: CircuitKey, *, now: datetime, policy: CircuitPolicy
) -> bool:
    """Half-open: the one worker whose update moves `open_until` on sends the probe; the
    others keep to the secondary until the probe's result is recorded."""
    clinic_id, provider = key
    result = await session.execute(
        update(provider_circuit_table)
        .where(
            _circuit.clinic_id == clinic_id,
            _circuit.provider == provider,
            _circuit.open_until <= now,
        )
        .values(open_until=now + policy.probe_after, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_health(
    session: AsyncSession,
    reports: Sequence[ProviderHealth],
    *,
    policy: CircuitPolicy,
    now: datetime,
) -> None:
    """Clean batches (the usual case) cost one statement, which changes nothing unless a
    circuit had failures to forget; the others read and update their circuits locked."""
    await _close_after_success(session, [r for r in reports if r.health.clean], now)
    troubled = [report for report in reports if not report.health.clean]
    if not troubled:
        return
    keys = [(report.clinic_id, report.provider) for report in troubled]
    await _create_missing(session, keys, now)
    circuits = await circuits_of(session, keys, lock=True)
    for report in troubled:
        key = (report.clinic_id, report.provider)
        circuits[key] = after_batch(circuits[key], report.health, policy, now)
    for (clinic_id, provider), circuit in circuits.items():
        await session.execute(
            update(provider_circuit_table)
            .where(_circuit.clinic_id == clinic_id, _circuit.provider == provider)
            .values(**asdict(circuit), updated_at=now)
        )


async def _close_after_success(
    session: AsyncSession, reports: Sequence[ProviderHealth], now: datetime
) -> None:
    if not reports:
        return
    keys = sorted({(report.clinic_id, report.provider) for report in reports})
    await session.execute(
        update(provider_circuit_table)
        .where(
            tuple_(_circuit.clinic_id, _circuit.provider).in_(keys),
            or_(_circuit.consecutive_failures > 0, _circuit.open_until.is_not(None)),
        )
        .values(consecutive_failures=0, open_until=None, opened_at=None, updated_at=now)
    )


async def _create_missing(session: AsyncSession, keys: Sequence[CircuitKey], now: datetime) -> None:
    rows = [
        {"clinic_id": clinic_id, "provider": provider, "consecutive_failures": 0, "updated_at": now}
        for clinic_id, provider in sorted(set(keys))
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(provider_circuit_table).on_conflict_do_nothing(
        index_elements=["clinic_id", "provider"]
    )
    await session.execute(statement, rows)
