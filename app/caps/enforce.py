"""The worker's guard: a claimed message that would pass a cap is not sent.

It runs in the claim's transaction, after the claim. Each clinic with a cap in the batch
is locked first (its `clinic` row, `FOR NO KEY UPDATE`, in id order): a second worker
claiming for the same clinic waits until this claim commits, and then counts these
messages as `sending`. So two workers together never pass a cap. (SQLite has one writer:
the claim itself serialises them.) A message held back is cancelled with the reason
`cap_reached`, the practice system hears of it, and of the cap once per period.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.caps.notices import CapHit, announce, hit_of, reason_detail
from app.caps.rules import CAP_REACHED, Candidate, Limits, hold_back
from app.caps.usage import Claim, periods_at, usage_for
from app.clinic_settings.models import ClinicSettings
from app.clinics.models import Clinic
from app.core.db import bulk_update
from app.core.models import table_of
from app.events.messages import record_message_status_events
from app.messages.models import MessageStatus, message_table
from app.messages.record import ClaimedMessage

_message = message_table.c
clinic_table = table_of(Clinic)


async def _lock_clinics(session: AsyncSession, clinic_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        select(clinic_table.c.id)
        .where(clinic_table.c.id.in_(clinic_ids))
        .order_by(clinic_table.c.id)
        .with_for_update(key_share=True)
    )


async def _held_for_clinic(
    session: AsyncSession,
    messages: Sequence[ClaimedMessage],
    settings: ClinicSettings,
    limits: Limits,
    claim: Claim,
) -> list[CapHit]:
    candidates = [
        Candidate(message.type, message.cost, message.patient_id, message.to_number)
        for message in messages
    ]
    periods = periods_at(claim.at, settings.time_zone)
    usage = await usage_for(session, settings.clinic_id, limits, periods, candidates, claim)
    return [
        hit_of(cap, limits, periods, settings.currency, message.id)
        for message, cap in zip(messages, hold_back(candidates, usage, limits), strict=True)
        if cap is not None
    ]


async def hold_back_capped(
    session: AsyncSession,
    claimed: list[ClaimedMessage],
    settings: dict[uuid.UUID, ClinicSettings],
    claim: Claim,
) -> list[ClaimedMessage]:
    """The claimed messages that may go; the others are cancelled (`cap_reached`)."""
    limits = {clinic_id: Limits.of(row) for clinic_id, row in settings.items()}
    by_clinic: dict[uuid.UUID, list[ClaimedMessage]] = defaultdict(list)
    for message in claimed:
        if limits[message.clinic_id].any:
            by_clinic[message.clinic_id].append(message)
    if not by_clinic:
        return claimed
    # Also where this batch can hold nothing back: its exempt messages use the cap, and
    # a claim counting meanwhile must see them.
    await _lock_clinics(session, sorted(by_clinic))
    hits: dict[uuid.UUID, list[CapHit]] = {}
    for clinic_id, messages in by_clinic.items():
        if any(not limits[clinic_id].exempt(message.type) for message in messages):
            hits[clinic_id] = await _held_for_clinic(
                session, messages, settings[clinic_id], limits[clinic_id], claim
            )
    held = {hit.message_id: hit for found in hits.values() for hit in found}
    if not held:
        return claimed
    await _cancel_held(session, held, claim)
    for clinic_id, found in hits.items():
        await announce(session, clinic_id, found, now=claim.at)
    return [message for message in claimed if message.id not in held]


async def _cancel_held(
    session: AsyncSession, held: dict[uuid.UUID | None, CapHit], claim: Claim
) -> None:
    rows = [
        {"id": message_id, "failure_detail": reason_detail(hit)} for message_id, hit in held.items()
    ]
    await bulk_update(
        session,
        message_table,
        rows,
        where=[_message.status == MessageStatus.SENDING],
        values={
            "status": MessageStatus.CANCELLED,
            "cancelled_at": claim.at,
            "failure_reason": CAP_REACHED,
            # Never handed to a provider: not an attempt.
            "attempts": _message.attempts - 1,
        },
    )
    ids = [message_id for message_id in held if message_id is not None]
    await record_message_status_events(session, ids, now=claim.at)
