"""A renamed patient's pending texts are rendered again (DESIGN §5), with their segments
and cost, from the template and merge values kept with each (`text_source`), smart-encoded
and checked against the clinic's provider as the first text was. A text now over the
clinic's `max_segments` fails as `too_long`; one with characters the provider cannot carry
(an emoji in the new name, on LINK) as `unsupported_characters`.

Set-based: one read of the texts to render, one update for the names, one (an unnest on
PostgreSQL) for the new texts and one for each reason some now fail; each guarded by `pending`, so
a message already `sending` keeps the text it is being sent with.
"""

import json
import uuid
from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.core.db import bulk_update, in_batches
from app.events.messages import record_message_status_events
from app.messages.compose import with_patient
from app.messages.ending import end_pending
from app.messages.models import FailureReason, MessageStatus, RecipientRole, message_table
from app.messages.outgoing import Outgoing, outgoing
from app.messages.recipients import Recipient
from app.messages.rows import cost_of
from app.patients.models import PatientView
from app.templates.merge import render

_message = message_table.c


def _rendered(
    source: str, patient: PatientView, recipient: Recipient, settings: ClinicSettings
) -> Outgoing:
    kept = json.loads(source)
    text = render(kept["template"], with_patient(kept["values"], patient, recipient))
    return outgoing(text, settings)


def _recipient(role: str, name: str | None) -> Recipient:
    """Enough of a message's recipient to render its [Mottaker] and [du] again."""
    return Recipient(RecipientRole(role), name, None, None, wants_sms=True)


async def render_again(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    settings: ClinicSettings,
    patient: PatientView,
    now: datetime,
) -> list[uuid.UUID]:
    """Give the patient's pending messages the new name; answers the ids of those that
    ended as `too_long` or `unsupported_characters` (their status events are recorded)."""
    pending = [
        _message.clinic_id == clinic_id,
        _message.patient_id == patient.id,
        _message.status == MessageStatus.PENDING,
    ]
    name = f"{patient.first_name} {patient.last_name}"
    own = _message.recipient_role == RecipientRole.PATIENT.value
    await session.execute(
        update(message_table)
        .where(*pending)
        .values(
            patient_name=name,
            recipient_name=case((own, name), else_=_message.recipient_name),
        )
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            _message.id, _message.text_source, _message.recipient_role, _message.recipient_name
        ).where(*pending, _message.text_source.is_not(None))
    )
    rendered: dict[tuple[str, str, str | None], Outgoing] = {}
    changed: list[dict[str, object]] = []
    failing: dict[FailureReason, list[uuid.UUID]] = {}
    for message_id, source, role, recipient_name in rows:
        key = (source, role, recipient_name)
        if key not in rendered:  # a patient's texts share a handful of sources
            rendered[key] = _rendered(source, patient, _recipient(role, recipient_name), settings)
        sent = rendered[key]
        analysis = sent.encoded.analysis
        if sent.uncarriable:
            failing.setdefault(FailureReason.UNSUPPORTED_CHARACTERS, []).append(message_id)
            continue
        if analysis.segments > settings.max_segments:
            failing.setdefault(FailureReason.TOO_LONG, []).append(message_id)
            continue
        changed.append(
            {
                "id": message_id,
                "text": sent.encoded.text,
                "encoding": analysis.encoding.value,
                "segments": analysis.segments,
                "cost": cost_of(analysis.segments, settings.price_per_segment),
            }
        )
    await bulk_update(session, message_table, changed, where=pending[2:])
    ended: list[uuid.UUID] = []
    for reason, ids in failing.items():
        for condition in in_batches(session, _message.id, ids):
            ended += await end_pending(session, [*pending, condition], reason.value, now)
    await record_message_status_events(session, ended, now=now)
    return ended
