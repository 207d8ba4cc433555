"""The spending caps when a message is asked for: which new rows a cap holds back already.

A plain function of the stored usage and the rows about to be stored, so that a dry run
answers exactly what the real call does. Only what is knowable counts: a message that goes
in a later day or month than now is left to the worker, which checks every message again
when it goes (`app.caps.enforce`). The rows are taken in order, each adding to the usage,
so a bulk send is cut where the cap is.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.caps.notices import CapHit, announce, hit_of
from app.caps.rules import Candidate, Cap, Limits, hold_back
from app.caps.usage import periods_at, usage_for
from app.clinic_settings.models import ClinicSettings
from app.messages.compose import Content
from app.messages.rows import MessageRow


@dataclass(frozen=True, slots=True)
class CapCheck:
    held: list[Cap | None]
    """Per row, the cap that holds it back, or None."""
    hits: list[CapHit]
    """For `app.caps.notices.announce`, after a real (not a dry) run."""

    def held_ids(self, rows: Sequence[MessageRow]) -> set[uuid.UUID]:
        return {row["id"] for row, cap in zip(rows, self.held, strict=True) if cap is not None}


def may_hold(
    settings: ClinicSettings, message_type: str, *, send_at: datetime, now: datetime
) -> bool:
    """Whether a cap may hold back a message of this type going at `send_at`: if not, no
    rows need checking."""
    periods = periods_at(now, settings.time_zone)
    limits = Limits.of(settings).for_send_at(send_at, periods.day_end, periods.month_end)
    return limits.any and not limits.exempt(message_type)


async def check_new_rows(
    session: AsyncSession,
    *,
    settings: ClinicSettings,
    message_type: str,
    rows: Sequence[MessageRow],
    send_at: datetime,
    now: datetime,
) -> CapCheck:
    """`rows` are of one request, of `message_type`: they need `id`, `cost`, `patient_id`
    and `to_number`."""
    if not rows or not may_hold(settings, message_type, send_at=send_at, now=now):
        return CapCheck([None] * len(rows), [])
    periods = periods_at(now, settings.time_zone)
    limits = Limits.of(settings).for_send_at(send_at, periods.day_end, periods.month_end)
    candidates = [
        Candidate(message_type, row["cost"], row["patient_id"], row["to_number"]) for row in rows
    ]
    usage = await usage_for(session, settings.clinic_id, limits, periods, candidates)
    held = hold_back(candidates, usage, limits)
    hits = [hit_of(cap, limits, periods, settings.currency) for cap in held if cap is not None]
    return CapCheck(held, hits)


async def keep_uncapped(
    session: AsyncSession,
    settings: ClinicSettings,
    content: Content,
    rows: Sequence[MessageRow],
    *,
    now: datetime,
) -> tuple[list[MessageRow], set[uuid.UUID]]:
    """The rows of one request that no cap holds back, and the ids of those a cap does;
    each cap reached is announced."""
    check = await check_new_rows(
        session,
        settings=settings,
        message_type=content.type,
        rows=rows,
        send_at=content.send_at,
        now=now,
    )
    held = check.held_ids(rows)
    await announce(session, settings.clinic_id, check.hits, now=now)
    return [row for row in rows if row["id"] not in held], held
