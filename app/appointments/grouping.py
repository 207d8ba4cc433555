"""One reminder per person per day (§7): a reminder or booking confirmation for a number
that already has one of the same kind waiting for another appointment on the same local
day joins that message instead of making a second one.

A shared message lists every time in `[Tidspunkt]` ("tirsdag 3. desember kl. 09:00 og
kl. 14:30"); to a guardian of several children it names each child (`[du]` "Ola og Kari",
and each time with whose it is). Its appointments are in `message_appointment`, each with
the start, patient and timing its own message would have had: the message goes at the
earliest of those times and expires at the earliest start, so it comes before every one.

A booking confirmation is "one push" while it waits: appointments booked before it goes
(the same request, a batch, or pushes moments apart) share it; one booked after it went
gets its own. Manual reminders (by hand, a day's patients) are not grouped: their answer
names the messages each appointment got.

Taking an appointment out (it moved, was cancelled, or was confirmed) renders the shared
text again for the others; the last one left has the message to itself again, without
rows here. A patient's rename does not render a shared text again (it has no
`text_source`).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.appointments.composer import Composer, facts_of
from app.appointments.messaging import day_bounds
from app.appointments.models import (
    Appointment,
    Confirmation,
    message_appointment_table,
)
from app.appointments.scheduling import REPLY_KINDS, MessageFacts
from app.core.db import bulk_insert
from app.core.jobs import enqueue_after_commit
from app.messages.compose import Content, merge_values, text_of
from app.messages.models import Message, MessageStatus, RecipientRole
from app.messages.outgoing import Outgoing, outgoing
from app.messages.recipients import Recipient
from app.messages.rows import MessageRow, cost_of
from app.messages.schemas import MessageContent
from app.messages.service import store_messages
from app.messages.wakeups import dispatch_job
from app.messages.window import SendKind
from app.patients.models import Patient
from app.templates.merge import TemplateSyntaxError, format_appointment_times, join_words

_link = message_appointment_table.c


@dataclass(frozen=True, slots=True)
class Member:
    """One appointment of a shared message, with its own message's start and timing."""

    appointment: Appointment
    patient: Patient
    start_at: datetime
    send_after: datetime
    send_at: datetime
    expires_at: datetime


async def store(
    session: AsyncSession,
    composer: Composer,
    appointment: Appointment,
    patient: Patient,
    rows: Sequence[MessageRow],
) -> list[MessageFacts]:
    """Store the appointment's new rows; each reminder or booking confirmation that finds one
    of its kind waiting for its number on the same day joins it instead. The facts of each,
    as the appointment sees them."""
    alone: list[MessageRow] = []
    facts: list[MessageFacts] = []
    for row in rows:
        joined = await _join(session, composer, appointment, patient, row)
        if joined is None:
            alone.append(row)
            facts.append(facts_of(row))
        else:
            facts.append(joined)
    await store_messages(session, alone, now=composer.context.now)
    return facts


async def detach(
    session: AsyncSession, composer: Composer, message_id: uuid.UUID, appointment_id: str
) -> bool:
    """Take the appointment out of a shared message and render it again for the others;
    False when no one else is in it (or it no longer waits): the caller cancels it."""
    message = await _locked(
        session,
        select(Message).where(
            col(Message.id) == message_id,
            col(Message.clinic_id) == composer.context.clinic_id,
            col(Message.status) == MessageStatus.PENDING,
        ),
    )
    if message is None:
        return False
    members = await members_of(session, message)
    rest = [m for m in members if m.appointment.appointment_id != appointment_id]
    if not rest or len(rest) == len(members):
        return False
    await composer.load_templates(session)
    sent = group_text(composer, message.type, rest, _recipient_of(message))
    if sent is None:
        return False
    await _rewrite(session, composer, message, rest, sent)
    return True


async def members_of(session: AsyncSession, message: Message) -> list[Member]:
    """The message's appointments, earliest first: its rows here, else its own columns."""
    links = (
        await session.execute(
            select(message_appointment_table).where(
                _link.clinic_id == message.clinic_id, _link.message_id == message.id
            )
        )
    ).all()
    if not links:
        if message.appointment_id is None or message.patient_id is None:
            return []  # sent to a bare number for the appointment: not a person's reminder
        appointments = await _appointments(session, message.clinic_id, [message.appointment_id])
        patients = await _patients(session, message.clinic_id, [message.patient_id])
        appointment = appointments.get(message.appointment_id)
        patient = patients.get(message.patient_id)
        if appointment is None or patient is None or message.appointment_start_at is None:
            return []
        start = message.appointment_start_at
        return [
            Member(
                appointment,
                patient,
                start,
                message.send_after,
                message.next_attempt_at,
                message.expires_at,
            )
        ]
    appointments = await _appointments(
        session, message.clinic_id, [link.appointment_id for link in links]
    )
    patients = await _patients(session, message.clinic_id, [link.patient_id for link in links])
    members = [
        Member(
            appointments[link.appointment_id],
            patients[link.patient_id],
            link.appointment_start_at,
            link.send_after,
            link.send_at,
            link.expires_at,
        )
        for link in links
        if link.appointment_id in appointments and link.patient_id in patients
    ]
    return sorted(members, key=lambda m: (m.start_at, m.appointment.appointment_id))


def group_text(
    composer: Composer, kind: str, members: Sequence[Member], recipient: Recipient
) -> Outgoing | None:
    """The text for all of them to this recipient; None: it cannot be rendered or sent
    (a template error, over max_segments, characters the provider cannot carry)."""
    context, settings = composer.context, composer.context.settings
    template, allow_reply = composer.template(kind)
    if template is None:
        return None
    patients = list({m.patient.id: m.patient for m in members}.values())
    several = len(patients) > 1
    starts = [(m.start_at, m.patient.first_name if several else None) for m in members]
    practitioners = list(dict.fromkeys(m.appointment.practitioner for m in members))
    request = MessageContent.model_construct(
        appointment_id=members[0].appointment.appointment_id,
        practitioner=join_words(practitioners),
        merge_values={"Tidspunkt": format_appointment_times(starts, context.window.tz)},
    )
    confirmed = all(_confirmed(m) for m in members)
    content = Content(
        kind,
        template,
        allow_reply,
        min(m.send_after for m in members),
        min(m.expires_at for m in members),
        min(m.send_at for m in members),
        SendKind.ANCHORED,
        request,
        members[0].start_at,
        members[0].patient.id,
        settings.confirm_keyword if confirmed else None,
    )
    values = merge_values(content, settings, patients[0], recipient)
    if several:
        names = join_words([p.first_name for p in patients])
        last_names = join_words(list(dict.fromkeys(p.last_name for p in patients)))
        values |= {"Fornavn": names, "Etternavn": last_names}
        values["du"] = names if recipient.role is RecipientRole.GUARDIAN else "dere"
        if recipient.role is RecipientRole.PATIENT:
            values["Mottaker"] = names
    try:
        text = text_of(content, values)
    except TemplateSyntaxError:
        return None
    if not text:
        return None
    sent = outgoing(text, settings)
    if sent.uncarriable or sent.encoded.analysis.segments > settings.max_segments:
        return None
    return sent


async def _join(
    session: AsyncSession,
    composer: Composer,
    appointment: Appointment,
    patient: Patient,
    row: MessageRow,
) -> MessageFacts | None:
    if row["type"] not in REPLY_KINDS or not row["to_number"]:
        return None
    context = composer.context
    local_day = appointment.start_at.astimezone(context.window.tz).date()
    first, last = day_bounds(local_day, context.window.tz)
    message = await _locked(
        session,
        select(Message)
        .where(
            col(Message.clinic_id) == context.clinic_id,
            col(Message.to_number) == row["to_number"],
            col(Message.type) == row["type"],
            col(Message.status) == MessageStatus.PENDING,
            col(Message.appointment_id) != appointment.appointment_id,
            col(Message.appointment_start_at) >= first,
            col(Message.appointment_start_at) < last,
        )
        .order_by(col(Message.created_at), col(Message.id))
        .limit(1),
    )
    if message is None:
        return None
    members = await members_of(session, message)
    confirmed = appointment.confirmation == Confirmation.CONFIRMED
    if not members or any(_confirmed(m) != confirmed for m in members):
        # A confirmed appointment is never asked again, an unconfirmed one always is: a
        # text for both could do neither, so they go apart.
        return None
    new = Member(
        appointment,
        patient,
        appointment.start_at,
        row["send_after"],
        row["next_attempt_at"],
        row["expires_at"],
    )
    together = sorted(
        [m for m in members if m.appointment.appointment_id != appointment.appointment_id] + [new],
        key=lambda m: (m.start_at, m.appointment.appointment_id),
    )
    sent = group_text(composer, message.type, together, _recipient_of(message))
    if sent is None:
        return None
    await _rewrite(session, composer, message, together, sent)
    return MessageFacts(
        message.id,
        message.type,
        MessageStatus.PENDING.value,
        None,
        patient.id,
        appointment.start_at,
        message.next_attempt_at,
        None,
        shared=True,
    )


async def _rewrite(
    session: AsyncSession,
    composer: Composer,
    message: Message,
    members: Sequence[Member],
    sent: Outgoing,
) -> None:
    """The message as the first of its members' (the earliest), with the shared text and
    timing; its rows here name them all (none when one is left)."""
    settings = composer.context.settings
    first = members[0]
    was_due = message.next_attempt_at
    message.appointment_id = first.appointment.appointment_id
    message.appointment_start_at = first.start_at
    message.practitioner = first.appointment.practitioner
    message.patient_id = first.patient.id
    message.patient_no = first.patient.patient_no
    message.patient_name = f"{first.patient.first_name} {first.patient.last_name}"
    if message.recipient_role == RecipientRole.PATIENT:
        message.recipient_name = message.patient_name
    analysis = sent.encoded.analysis
    message.text = sent.encoded.text
    message.text_source = None
    message.encoding = analysis.encoding.value
    message.segments = analysis.segments
    message.cost = cost_of(analysis.segments, settings.price_per_segment)
    message.send_after = min(m.send_after for m in members)
    message.next_attempt_at = min(m.send_at for m in members)
    message.expires_at = min(m.expires_at for m in members)
    await session.flush()
    await session.execute(
        delete(message_appointment_table).where(
            _link.clinic_id == message.clinic_id, _link.message_id == message.id
        )
    )
    if len(members) > 1:
        rows = [
            {
                "message_id": message.id,
                "appointment_id": m.appointment.appointment_id,
                "clinic_id": message.clinic_id,
                "patient_id": m.patient.id,
                "appointment_start_at": m.start_at,
                "send_after": m.send_after,
                "send_at": m.send_at,
                "expires_at": m.expires_at,
            }
            for m in members
        ]
        await bulk_insert(session, message_appointment_table, rows)
    if message.next_attempt_at < was_due:
        enqueue_after_commit(session, dispatch_job(message.next_attempt_at, composer.context.now))


def _confirmed(member: Member) -> bool:
    return member.appointment.confirmation == Confirmation.CONFIRMED


def _recipient_of(message: Message) -> Recipient:
    return Recipient(
        RecipientRole(message.recipient_role),
        message.recipient_name,
        message.to_number,
        None,
        True,
    )


async def _locked(session: AsyncSession, statement: Select[Message]) -> Message | None:
    """The message, locked until the transaction ends: the worker skips a locked row, and a
    second push for the same group waits for this one."""
    locked = statement.with_for_update().execution_options(populate_existing=True)
    result: Message | None = (await session.execute(locked)).scalar_one_or_none()
    return result


async def _appointments(
    session: AsyncSession, clinic_id: uuid.UUID, appointment_ids: Sequence[str]
) -> dict[str, Appointment]:
    statement = select(Appointment).where(
        col(Appointment.clinic_id) == clinic_id,
        col(Appointment.appointment_id).in_(appointment_ids),
    )
    return {a.appointment_id: a for a in (await session.execute(statement)).scalars()}


async def _patients(
    session: AsyncSession, clinic_id: uuid.UUID, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Patient]:
    statement = select(Patient).where(
        col(Patient.clinic_id) == clinic_id, col(Patient.id).in_(patient_ids)
    )
    return {p.id: p for p in (await session.execute(statement)).scalars()}
