"""`cap.reached`: the practice system hears once per clinic, cap and period that a cap
held a message back. The notice row (`cap_notice`) is what makes it once."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.caps.models import cap_notice_table
from app.caps.rules import Cap, Limits
from app.caps.usage import Periods
from app.events.models import EventType
from app.events.service import NewEvent, record_events
from app.sms.service import money

_notice = cap_notice_table.c


@dataclass(frozen=True, slots=True)
class CapHit:
    cap: Cap
    period: str
    limit: str
    currency: str | None
    message_id: uuid.UUID | None


def hit_of(
    cap: Cap,
    limits: Limits,
    periods: Periods,
    currency: str,
    message_id: uuid.UUID | None = None,
) -> CapHit:
    if cap is Cap.MONTHLY_SPEND:
        assert limits.monthly_spend_cap is not None
        limit = str(money(limits.monthly_spend_cap))
        return CapHit(cap, periods.month, limit, currency, message_id)
    return CapHit(cap, periods.day, str(limits.max_per_patient_per_day), None, message_id)


def reason_detail(hit: CapHit) -> str:
    """The failure detail of a message held back: which cap, and for which period."""
    limit = f"{hit.limit} {hit.currency}" if hit.currency else hit.limit
    return f"{hit.cap.value} {limit} reached for {hit.period}"


def _insert_once(session: AsyncSession, row: dict[str, Any]) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(cap_notice_table).values(row).on_conflict_do_nothing().returning(_notice.cap)
    )


async def announce(
    session: AsyncSession, clinic_id: uuid.UUID, hits: Sequence[CapHit], *, now: datetime
) -> int:
    """Record `cap.reached` for each cap and period not yet told; answers how many."""
    firsts: dict[tuple[Cap, str], CapHit] = {}
    for hit in hits:
        firsts.setdefault((hit.cap, hit.period), hit)
    events: list[NewEvent] = []
    for (cap, period), hit in sorted(firsts.items()):
        row = {"clinic_id": clinic_id, "cap": cap.value, "period": period, "noticed_at": now}
        if (await session.execute(_insert_once(session, row))).first() is None:
            continue
        data = {
            "cap": cap.value,
            "period": period,
            "limit": hit.limit,
            "currency": hit.currency,
            "message_id": str(hit.message_id) if hit.message_id else None,
            "at": now.isoformat().replace("+00:00", "Z"),
        }
        events.append(NewEvent(clinic_id, EventType.CAP_REACHED, data))
    await record_events(session, events, now=now)
    return len(events)
