"""`POST /v1/webhooks/{provider}/{secret}/delivery|inbound`: what providers call.

Unknown provider or secret: 404. A signature wrong or missing (Twilio; Sinch once the
clinic set its callback secret): 401. A body we cannot read: 400 with the reason, nothing
stored. Everything else: 200, quickly (providers retry non-2xx answers for up to two
days), reports for messages we do not know and repeats of a webhook included.
"""

import logging

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from app.core.deps import ClockDep, RateLimiterDep, RedisDep, SessionDep, SettingsDep
from app.core.errors import AppError, Problem
from app.core.ratelimit import webhook_caller
from app.metrics import observe_report_rejected, observe_reports_received
from app.webhooks import service
from app.webhooks.duplicates import repeats_of
from app.webhooks.parsing import BodyTooLarge, MalformedWebhook
from app.webhooks.request import WebhookRequest

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/webhooks", tags=["provider webhooks"])

MAX_BODY_BYTES = 1024 * 1024
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "The body could not be read; nothing was stored"},
    401: {
        "model": Problem,
        "description": "The signature is missing or wrong (Twilio; Sinch with a callback secret)",
    },
    404: {"model": Problem, "description": "Unknown provider or secret"},
    413: {"model": Problem, "description": "Body over 1 MiB"},
}


class DeliveryAcknowledged(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"received": 2, "stored": 2}]})

    received: int = Field(description="Reports in the body")
    stored: int = Field(description="Reports new to us (a repeat is stored once)")


class InboundAcknowledged(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"stored": True, "reply_id": "0193a1b0-2d3e-7f40-9b5c-6d7e8f9a0b1c"}]
        }
    )

    stored: bool = Field(description="False for a repeat of an SMS already stored")
    reply_id: str | None


async def _webhook_request(request: Request, public_base_url: str) -> WebhookRequest:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"at most {MAX_BODY_BYTES} bytes")
    body = await _capped_body(request)
    query = request.scope["query_string"].decode()
    return WebhookRequest(
        body=body,
        query=dict(request.query_params),
        url=f"{public_base_url.rstrip('/')}{request.scope['path']}{'?' if query else ''}{query}",
        headers={name.lower(): value for name, value in request.headers.items()},
    )


async def _capped_body(request: Request) -> bytes:
    """The body, read no further than the limit: a chunked upload declares no length."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge(f"at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _log_malformed(provider: str, kind: str, exc: MalformedWebhook) -> None:
    logger.warning(
        "malformed provider webhook",
        extra={"provider": provider, "kind": kind, "reason": exc.detail},
    )


@router.post("/{provider}/{secret}/delivery", responses=ERRORS, response_model=DeliveryAcknowledged)
async def delivery_reports(provider: str, secret: str, request: Request) -> Response:
    """Delivery reports: LINK (JSON, one per part of a long message), Sinch (JSON), Twilio
    (form, signed with `X-Twilio-Signature`). Stored at once, applied by the worker within
    about a second. (Served by `app.webhooks.fastpath` ahead of the framework.)"""
    return await take_delivery_reports(request, provider, secret)


async def take_delivery_reports(request: Request, provider: str, secret: str) -> Response:
    """The hot path (thousands a second after a big send): no dependencies and no request
    session. Reports arriving together are written in one transaction by the process's
    intake (group commit); the 200 comes after that commit."""
    state = request.app.state
    try:
        service.provider_webhooks(provider)
        await state.rate_limiter.check(
            webhook_caller(secret), state.settings.webhook_rate_limit_per_minute
        )
        webhook = await _webhook_request(request, state.settings.public_base_url)
        received, stored = await service.receive_delivery_reports(
            state.report_intake,
            state.sessionmaker,
            secret=secret,
            provider=provider,
            request=webhook,
            repeats=repeats_of(
                state.redis, secret=secret, provider=provider, headers=webhook.headers
            ),
            now=state.clock.now(),
        )
    except MalformedWebhook as exc:
        _log_malformed(provider, "delivery", exc)
        observe_report_rejected(provider)
        raise
    except AppError:
        observe_report_rejected(provider)
        raise
    observe_reports_received(provider, received)
    answer = DeliveryAcknowledged(received=received, stored=stored)
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post(
    "/{provider}/{secret}/inbound",
    responses=ERRORS | {200: {"description": "JSON; for Twilio an empty TwiML <Response>"}},
    response_model=InboundAcknowledged,
)
async def inbound_sms(
    provider: str,
    secret: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    config: SettingsDep,
    limiter: RateLimiterDep,
    redis: RedisDep,
) -> Response:
    """Inbound SMS (replies): stored, matched to a patient and the message answered, keyword
    applied (STOPP/START, confirm/cancel), and announced as `reply.received`."""
    service.provider_webhooks(provider)
    await limiter.check(webhook_caller(secret), config.webhook_rate_limit_per_minute)
    clinic = await service.clinic_for_secret(session, secret)
    webhook = await _webhook_request(request, config.public_base_url)
    repeats = repeats_of(redis, secret=secret, provider=provider, headers=webhook.headers)
    try:
        reply = await service.receive_inbound(
            session,
            clinic=clinic,
            provider=provider,
            request=webhook,
            repeats=repeats,
            now=clock.now(),
        )
    except MalformedWebhook as exc:
        _log_malformed(provider, "inbound", exc)
        raise
    # Runs once the response is sent, so after the request's transaction committed.
    remember = BackgroundTask(repeats.remember)
    if provider == "twilio":
        # Twilio reads the answer as TwiML: an empty <Response> texts nothing back.
        return Response(TWIML_EMPTY, media_type="text/xml", background=remember)
    answer = InboundAcknowledged(
        stored=reply is not None, reply_id=str(reply.id) if reply else None
    )
    return Response(answer.model_dump_json(), media_type="application/json", background=remember)
