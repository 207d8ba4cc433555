from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from arq.connections import ArqRedis
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from redis.asyncio import ConnectionPool

from app import __version__
from app.appointments.router import router as appointments_router
from app.clinic_settings.router import router as settings_router
from app.clinics.router import router as clinics_router
from app.core import secrets
from app.core.clock import Clock, SystemClock
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import Problem, install_error_handlers
from app.core.logging import RequestIdMiddleware, RequestLogMiddleware, configure_logging
from app.core.memory import freeze_startup_objects
from app.core.methods import AllowedMethods
from app.core.nul_guard import NulCharacterGuard
from app.core.openapi import build_openapi, operation_id
from app.core.query_params import refuse_unknown_query_parameters
from app.core.ratelimit import RequestLimiter
from app.deliveries.intake import ReportIntake
from app.events.payloads import webhooks_spec
from app.events.router import router as events_router
from app.health.router import router as health_router
from app.messages.router import router as messages_router
from app.metrics.router import router as metrics_router
from app.outbox.router import router as outbox_router
from app.patients.router import router as patients_router
from app.recalls.router import router as recalls_router
from app.reminder_rules.router import router as reminder_rules_router
from app.replies.router import router as replies_router
from app.sandbox.router import router as sandbox_router
from app.sms.router import router as sms_router
from app.sms_info.router import router as sms_info_router
from app.templates.router import router as templates_router
from app.webhooks.fastpath import DeliveryReportFastPath
from app.webhooks.router import router as webhooks_router

REDIS_TIMEOUT_SECONDS = 2.0
# What any clinic route may answer besides its own.
SHARED_RESPONSES: dict[int | str, dict[str, object]] = {
    429: {
        "model": Problem,
        "description": "Over the caller's rate limit; nothing was done",
        "headers": {
            "Retry-After": {
                "description": "Seconds until a request is allowed again",
                "schema": {"type": "integer"},
            }
        },
    },
    503: {
        "model": Problem,
        "description": "Lost a race in the database to another request (a deadlock, or a "
        "lock not had within the server's lock_timeout); nothing was saved: send it again",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before sending it again",
                "schema": {"type": "integer"},
            }
        },
    },
}


def _redis_pool(url: str) -> ArqRedis:
    # Lazy: the API starts without Redis, and /readyz says when it is missing.
    pool = ConnectionPool.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    return ArqRedis(connection_pool=pool)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Before uvicorn's "Started server process": its start-up lines are JSON too.
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        secrets.configure(settings.secrets_keys)
        app.state.settings = settings
        app.state.clock = clock or SystemClock()
        app.state.engine = create_engine(settings)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        app.state.redis = _redis_pool(settings.redis_url)
        app.state.report_intake = ReportIntake(app.state.engine, app.state.redis)
        app.state.rate_limiter = RequestLimiter(settings.redis_url)
        freeze_startup_objects()
        try:
            yield
        finally:
            await app.state.rate_limiter.aclose()
            await app.state.redis.aclose()
            await app.state.engine.dispose()

    # Swagger UI and ReDoc from the package's files, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="Clinic SMS service",
        version=__version__,
        description=(
            "Appointment reminders, confirmations and two-way SMS for dental clinics. "
            "Errors are RFC 9457 problem details."
        ),
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(refuse_unknown_query_parameters)],
    )
    install_error_handlers(app)
    app.add_middleware(AllowedMethods)
    app.add_middleware(NulCharacterGuard)
    app.add_middleware(RequestLogMiddleware)
    # Outermost: delivery reports skip the framework's per-request cost (see the module).
    app.add_middleware(DeliveryReportFastPath)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for router in (
        clinics_router,
        settings_router,
        templates_router,
        sms_router,
        patients_router,
        reminder_rules_router,
        recalls_router,
        appointments_router,
        messages_router,
        outbox_router,
        replies_router,
        sandbox_router,
        events_router,
        sms_info_router,
        webhooks_router,
    ):
        app.include_router(router, responses=SHARED_RESPONSES)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            webhooks, schemas = webhooks_spec()
            app.openapi_schema = build_openapi(app, webhooks, schemas)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


app = create_app()
