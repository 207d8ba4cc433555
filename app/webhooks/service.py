"""Provider webhooks: which clinic (the secret in the URL), is it really the provider
(its signature, `app.webhooks.verification`), have we had it before (its idempotency
token), and what the body says (each provider's parser)."""

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.appointments.confirmations import apply_confirmation_reply
from app.clinic_settings.service import get_clinic_settings
from app.clinics.models import Clinic
from app.core.errors import NotFound
from app.deliveries.intake import ReportIntake
from app.deliveries.reports import ParsedReport
from app.replies.models import Reply
from app.replies.service import InboundSms, receive_reply
from app.webhooks import linkmobility, sinch, twilio
from app.webhooks.duplicates import Repeats
from app.webhooks.request import WebhookRequest
from app.webhooks.verification import VERIFIERS, signs

logger = logging.getLogger(__name__)

UNKNOWN_URL = "No webhook at this URL: check the provider and the secret (see GET /v1/settings)."


@dataclass(frozen=True, slots=True)
class ProviderWebhooks:
    parse_delivery: Callable[[WebhookRequest], list[ParsedReport]]
    parse_inbound: Callable[[WebhookRequest], InboundSms | None]


PROVIDERS: Mapping[str, ProviderWebhooks] = {
    "linkmobility": ProviderWebhooks(
        parse_delivery=lambda request: linkmobility.parse_delivery(
            request.body, request.content_type
        ),
        parse_inbound=lambda request: linkmobility.parse_inbound(
            request.body, request.content_type
        ),
    ),
    "sinch": ProviderWebhooks(
        parse_delivery=lambda request: sinch.parse_delivery(request.body),
        parse_inbound=lambda request: sinch.parse_inbound(request.body),
    ),
    "twilio": ProviderWebhooks(
        parse_delivery=lambda request: twilio.parse_delivery(request.body, request.query),
        parse_inbound=lambda request: twilio.parse_inbound(request.body),
    ),
}


def provider_webhooks(provider: str) -> ProviderWebhooks:
    webhooks = PROVIDERS.get(provider)
    if webhooks is None:
        raise NotFound(UNKNOWN_URL)
    return webhooks


async def clinic_for_secret(session: AsyncSession, secret: str) -> Clinic:
    statement = select(Clinic).where(Clinic.webhook_secret == secret)  # type: ignore[arg-type]
    clinic = (await session.execute(statement)).scalar_one_or_none()
    if clinic is None:
        raise NotFound(UNKNOWN_URL)
    return clinic


def _credentials(credentials: Mapping[str, Any], provider: str) -> Mapping[str, str]:
    fields: Mapping[str, str] = credentials.get(provider, {})
    return fields


async def verify_signature(
    session: AsyncSession, clinic: Clinic, provider: str, request: WebhookRequest
) -> None:
    """The provider's own check, where it has one (401 when it fails)."""
    verify = VERIFIERS.get(provider)
    if verify is None:
        return
    settings = await get_clinic_settings(session, clinic.id)
    verify(request, _credentials(settings.provider_credentials, provider))


async def _refuse_unsigned_stand_in(session: AsyncSession, clinic: Clinic, provider: str) -> None:
    """A clinic whose provider signs its webhooks (Twilio; Sinch with a callback secret)
    takes replies through that provider's URL only: another provider's URL checks no
    signature, and a forged STOPP or NEI must not get in by it. (Delivery reports are held
    to the provider that took each message when they are applied.)"""
    settings = await get_clinic_settings(session, clinic.id)
    configured = settings.provider
    credentials = _credentials(settings.provider_credentials, configured)
    if provider != configured and signs(configured, credentials):
        raise NotFound(UNKNOWN_URL)


async def receive_delivery_reports(
    intake: ReportIntake,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    provider: str,
    request: WebhookRequest,
    repeats: Repeats,
    now: datetime,
) -> tuple[int, int]:
    """Verify, parse and store; answers (reports in the body, reports new to us)."""
    webhooks = provider_webhooks(provider)
    if provider in VERIFIERS:
        async with sessionmaker() as session:
            clinic = await clinic_for_secret(session, secret)
            await verify_signature(session, clinic, provider, request)
    reports = webhooks.parse_delivery(request)
    if await repeats.seen():
        logger.info("repeated delivery report webhook dropped", extra={"provider": provider})
        return len(reports), 0
    stored = await intake.store(secret=secret, provider=provider, reports=reports, now=now)
    if stored is None:
        raise NotFound(UNKNOWN_URL)
    await repeats.remember()
    return len(reports), stored


async def receive_inbound(
    session: AsyncSession,
    *,
    clinic: Clinic,
    provider: str,
    request: WebhookRequest,
    repeats: Repeats,
    now: datetime,
) -> Reply | None:
    """Verify, parse, store and act; None for a repeat or a message with no text. (The
    caller remembers `repeats` once the transaction is committed.)"""
    webhooks = provider_webhooks(provider)
    await _refuse_unsigned_stand_in(session, clinic, provider)
    await verify_signature(session, clinic, provider, request)
    if await repeats.seen():
        logger.info("repeated inbound webhook dropped", extra={"provider": provider})
        return None
    inbound = webhooks.parse_inbound(request)
    if inbound is None:
        logger.info(
            "inbound webhook without a text message; acknowledged", extra={"provider": provider}
        )
        return None
    return await take_inbound_sms(
        session, clinic_id=clinic.id, provider=provider, inbound=inbound, now=now
    )


async def take_inbound_sms(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    provider: str,
    inbound: InboundSms,
    now: datetime,
) -> Reply | None:
    """Store, match and act on one inbound SMS: every provider's, and the sandbox's."""
    reply = await receive_reply(
        session, clinic_id=clinic_id, provider=provider, inbound=inbound, now=now
    )
    if reply is not None:
        await apply_confirmation_reply(session, reply, now)
    return reply
