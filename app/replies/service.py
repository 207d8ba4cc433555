"""Inbound SMS: store every one, match it to a patient and to the message it answers, act
on its keyword, and tell the practice system. Listing and flagging for the clinic."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import NotFound
from app.core.inserts import insert_new
from app.core.models import new_id
from app.core.pagination import decode_time_cursor, encode_time_cursor
from app.core.phones import mask, normalize_address, normalize_sender, number_filter
from app.events.messages import record_message_status_events
from app.events.models import EventType
from app.events.service import NewEvent, erase_reply_events, record_events
from app.messages.models import Message, MessageStatus, message_table
from app.optouts.service import block_number, lift_block
from app.patients.models import Patient
from app.replies.keywords import Keyword, keyword_of
from app.replies.models import Reply, reply_table
from app.replies.schemas import ReplyPatch
from app.templates.defaults import TemplateType

logger = logging.getLogger(__name__)

# Replies to these can confirm or cancel the appointment they are about.
CONFIRMABLE_TYPES = frozenset(
    {
        TemplateType.REMINDER_1,
        TemplateType.REMINDER_2,
        TemplateType.REMINDER_3,
        TemplateType.BOOKING_CONFIRMATION,
    }
)
REPLY_KEY = ("clinic_id", "provider", "provider_message_id")

_message = message_table.c
_reply = reply_table.c


@dataclass(frozen=True, slots=True)
class InboundSms:
    """An inbound SMS as a provider adapter read it from a webhook body."""

    provider_message_id: str
    sender: str
    recipient: str | None
    text: str
    # The keyword LINK routed a short-number reply by, still in the text (LINK-MO).
    routing_keyword: str | None = None


async def _answered_message(
    session: AsyncSession, clinic_id: uuid.UUID, number: str, since: datetime
) -> Message | None:
    """The newest reply-able message sent to this number since the window opened."""
    statement = (
        select(Message)
        .where(
            _message.clinic_id == clinic_id,
            _message.to_number == number,
            _message.allow_reply.is_(True),
            _message.status.in_([MessageStatus.SENT, MessageStatus.ANSWERED]),
            _message.sent_at >= since,
        )
        .order_by(_message.sent_at.desc(), _message.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def _patients_with_number(
    session: AsyncSession, clinic_id: uuid.UUID, number: str
) -> list[Patient]:
    """The clinic's patients with this mobile, their own or a guardian's."""
    if not number.startswith("+"):
        return []
    statement = select(Patient).where(
        Patient.clinic_id == clinic_id,  # type: ignore[arg-type]
        # search_text holds every number of the patient; guardians live in a JSON list.
        or_(
            Patient.mobile == number,  # type: ignore[arg-type]
            Patient.search_text.contains(number, autoescape=True),  # type: ignore[attr-defined]
        ),
    )
    candidates = (await session.execute(statement)).scalars()
    return [
        patient
        for patient in candidates
        if patient.mobile == number
        or any(guardian.get("mobile") == number for guardian in patient.guardians)
    ]


async def _matched_patient(
    session: AsyncSession, message: Message | None, patients: list[Patient], number: str
) -> Patient | None:
    """The answered message's patient; else the one patient with the number, preferring a
    patient's own mobile over a guardian's (siblings share guardians); else nobody."""
    if message is not None and message.patient_id is not None:
        return await session.get(Patient, message.patient_id)
    if len(patients) == 1:
        return patients[0]
    own = [patient for patient in patients if patient.mobile == number]
    return own[0] if len(own) == 1 else None


def _reply_row(
    *,
    clinic_id: uuid.UUID,
    provider: str,
    inbound: InboundSms,
    sender: str,
    recipient: str | None,
    patient: Patient | None,
    message: Message | None,
    keyword: Keyword | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "clinic_id": clinic_id,
        "provider": provider,
        "provider_message_id": inbound.provider_message_id,
        "from_number": sender,
        "to_number": recipient,
        "text": inbound.text,
        "received_at": now,
        "patient_id": patient.id if patient else None,
        "patient_no": patient.patient_no if patient else None,
        "message_id": message.id if message else None,
        "keyword": keyword.value if keyword else None,
        "read": False,
        "follow_up": False,
    }


def _keyword(
    inbound: InboundSms, settings: ClinicSettings, message: Message | None
) -> Keyword | None:
    return keyword_of(
        inbound.text,
        confirm_word=settings.confirm_keyword,
        cancel_word=settings.cancel_keyword,
        answers_appointment=message is not None and message.type in CONFIRMABLE_TYPES,
        routing_keyword=inbound.routing_keyword,
    )


async def receive_reply(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    provider: str,
    inbound: InboundSms,
    now: datetime,
) -> Reply | None:
    """Store and act on an inbound SMS; None when this provider id was stored before."""
    settings = await get_clinic_settings(session, clinic_id)
    sender = normalize_sender(inbound.sender, settings.country)
    since = now - timedelta(hours=settings.reply_window_hours)
    message = await _answered_message(session, clinic_id, sender, since)
    patients = await _patients_with_number(session, clinic_id, sender)
    patient = await _matched_patient(session, message, patients, sender)
    keyword = _keyword(inbound, settings, message)
    row = _reply_row(
        clinic_id=clinic_id,
        provider=provider,
        inbound=inbound,
        sender=sender,
        recipient=normalize_address(inbound.recipient or "", settings.country),
        patient=patient,
        message=message,
        keyword=keyword,
        now=now,
    )
    if not await insert_new(session, reply_table, [row], unique=REPLY_KEY):
        logger.info("duplicate inbound SMS ignored", extra={"provider": provider})
        return None
    reply = await session.get(Reply, row["id"])
    assert reply is not None
    if message is not None:
        await _mark_answered(session, message.id, now)
    await _apply_opt_keyword(session, keyword, patients, reply, sender, now)
    await record_events(
        session,
        [NewEvent(clinic_id, EventType.REPLY_RECEIVED, reply_event_data(reply), reply.patient_id)],
        now=now,
    )
    logger.info(
        "reply received",
        extra={
            "clinic_id": str(clinic_id),
            "from": mask(sender),
            "matched_message": bool(message),
            "matched_patient": bool(patient),
            "keyword": reply.keyword,
        },
    )
    return reply


async def _mark_answered(session: AsyncSession, message_id: uuid.UUID, now: datetime) -> None:
    """Sent → answered (SB), once; a second reply leaves the first answer time."""
    result = await session.execute(
        update(message_table)
        .where(_message.id == message_id, _message.status == MessageStatus.SENT)
        .values(status=MessageStatus.ANSWERED, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0):
        await record_message_status_events(session, [message_id], now=now)


async def _apply_opt_keyword(
    session: AsyncSession,
    keyword: Keyword | None,
    patients: list[Patient],
    reply: Reply,
    number: str,
    now: datetime,
) -> None:
    """STOPP/STOP blocks the number for marketing, opts every patient with it out and
    withdraws their marketing consent; START lifts both blocks but gives no consent back."""
    if keyword not in (Keyword.STOP, Keyword.START):
        return
    opting_out = keyword is Keyword.STOP
    if number.startswith("+"):  # E.164; a short code or a sender name is no one's number
        if opting_out:
            await block_number(session, clinic_id=reply.clinic_id, number=number, now=now)
        else:
            await lift_block(session, clinic_id=reply.clinic_id, number=number)
    if opting_out:
        for patient in patients:
            patient.marketing_consent = False
            patient.marketing_consent_at = None
    changed = [patient for patient in patients if (patient.opted_out_at is None) == opting_out]
    for patient in changed:
        patient.opted_out_at = now if opting_out else None
        patient.updated_at = now
    event_type = EventType.PATIENT_OPTED_OUT if opting_out else EventType.PATIENT_OPTED_IN
    events = [
        NewEvent(
            reply.clinic_id,
            event_type,
            {"patient_no": patient.patient_no, "reply_id": str(reply.id), "at": _iso(now)},
            patient.id,
        )
        for patient in changed
    ]
    await session.flush()
    await record_events(session, events, now=now)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def reply_event_data(reply: Reply) -> dict[str, Any]:
    return {
        "reply_id": str(reply.id),
        "received_at": _iso(reply.received_at),
        "from": reply.from_number,
        "to": reply.to_number,
        "text": reply.text,
        "patient_no": reply.patient_no,
        "message_id": str(reply.message_id) if reply.message_id else None,
        "keyword": reply.keyword,
    }


@dataclass(frozen=True, slots=True)
class ReplyFilters:
    read: bool | None = None
    follow_up: bool | None = None
    patient_no: str | None = None
    number: str | None = None
    keyword: Keyword | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


def _filtered(statement: Select[Reply], filters: ReplyFilters, country: str) -> Select[Reply]:
    if filters.read is not None:
        statement = statement.where(_reply.read.is_(filters.read))
    if filters.follow_up is not None:
        statement = statement.where(_reply.follow_up.is_(filters.follow_up))
    if filters.patient_no:
        statement = statement.where(_reply.patient_no == filters.patient_no)
    if filters.number:
        statement = statement.where(
            _reply.from_number == number_filter(filters.number, country, field="number")
        )
    if filters.keyword is not None:
        statement = statement.where(_reply.keyword == filters.keyword.value)
    if filters.received_from:
        statement = statement.where(_reply.received_at >= filters.received_from)
    if filters.received_to:
        statement = statement.where(_reply.received_at < filters.received_to)
    return statement


async def list_replies(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    filters: ReplyFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Reply], str | None]:
    """Newest first; the cursor is the (received_at, id) of the last row returned."""
    settings = await get_clinic_settings(session, clinic_id)
    statement = _filtered(
        select(Reply).where(_reply.clinic_id == clinic_id), filters, settings.country
    )
    if cursor is not None:
        after = decode_time_cursor(cursor)
        statement = statement.where(tuple_(_reply.received_at, _reply.id) < after)
    statement = statement.order_by(_reply.received_at.desc(), _reply.id.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_time_cursor(page[-1].received_at, page[-1].id) if more else None
    return page, next_cursor


async def get_reply(session: AsyncSession, *, clinic_id: uuid.UUID, reply_id: uuid.UUID) -> Reply:
    reply = await session.get(Reply, reply_id)
    if reply is None or reply.clinic_id != clinic_id:
        raise NotFound("No reply with this id.")
    return reply


async def update_reply(
    session: AsyncSession, *, clinic_id: uuid.UUID, reply_id: uuid.UUID, patch: ReplyPatch
) -> Reply:
    reply = await get_reply(session, clinic_id=clinic_id, reply_id=reply_id)
    for name, value in patch.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(reply, name, value)
    await session.flush()
    return reply


async def erase_replies_of(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    mobile: str | None,
    now: datetime,
) -> int:
    """Scrub the text and number of the patient's replies, and of unmatched replies from the
    patient's own mobile; the rows stay (flags, times) without personal data."""
    from_patient = _reply.patient_id == patient_id
    unmatched_from_mobile = (
        (_reply.patient_id.is_(None) & (_reply.from_number == mobile)) if mobile else None
    )
    condition = (
        from_patient if unmatched_from_mobile is None else or_(from_patient, unmatched_from_mobile)
    )
    result = await session.execute(
        update(reply_table)
        .where(_reply.clinic_id == clinic_id, condition)
        .values(text=None, from_number=None, patient_no=None, erased_at=now)
        .returning(_reply.id)
        .execution_options(synchronize_session=False)
    )
    erased = list(result.scalars())
    # An unmatched reply's event carries no patient id: found by its reply id instead.
    await erase_reply_events(session, clinic_id=clinic_id, reply_ids=erased, now=now)
    return len(erased)
