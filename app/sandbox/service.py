"""A patient's reply to a sandbox clinic, simulated: it takes the path of a real inbound
SMS (`app.webhooks.service.take_inbound_sms`), keywords and all."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.schemas import ProviderName
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import InvalidInput, NotFound
from app.core.phones import InvalidPhoneNumber, parse_phone_number
from app.replies.models import Reply
from app.replies.service import InboundSms
from app.sandbox.schemas import SimulatedReply
from app.webhooks.service import take_inbound_sms

NOT_SANDBOX = "This clinic's provider is not the sandbox: replies come from the provider."


async def simulate_reply(
    session: AsyncSession, *, clinic_id: uuid.UUID, body: SimulatedReply, now: datetime
) -> Reply | None:
    settings = await get_clinic_settings(session, clinic_id)
    if settings.provider != ProviderName.SANDBOX:
        raise NotFound(NOT_SANDBOX)
    if not body.text.strip():
        raise InvalidInput.for_field("text", "must not be blank")
    try:
        sender = parse_phone_number(body.sender, settings.country).e164
    except InvalidPhoneNumber as exc:
        raise InvalidInput.for_field("from", str(exc)) from exc
    inbound = InboundSms(
        provider_message_id=f"sandbox-{uuid.uuid4()}",
        sender=sender,
        recipient=settings.reply_number,
        text=body.text,
    )
    return await take_inbound_sms(
        session, clinic_id=clinic_id, provider=ProviderName.SANDBOX.value, inbound=inbound, now=now
    )
