from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from fastapi import FastAPI
from redis.asyncio import ConnectionPool

from app import __version__
from app.clinic_settings.router import router as settings_router
from app.clinics.router import router as clinics_router
from app.core.clock import Clock, SystemClock
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging
from app.health.router import router as health_router
from app.messages.router import router as messages_router
from app.patients.router import router as patients_router
from app.sms.router import router as sms_router
from app.templates.router import router as templates_router

REDIS_TIMEOUT_SECONDS = 2.0


def _redis_pool(url: str) -> ArqRedis:
    # Lazy: the API starts without Redis, and /readyz says when it is missing.
    pool = ConnectionPool.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    return ArqRedis(connection_pool=pool)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        app.state.settings = settings
        app.state.clock = clock or SystemClock()
        app.state.engine = create_engine(settings)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        app.state.redis = _redis_pool(settings.redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.engine.dispose()

    app = FastAPI(
        title="Clinic SMS service",
        version=__version__,
        description=(
            "Appointment reminders, confirmations and two-way SMS for dental clinics. "
            "Errors are RFC 9457 problem details."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (
        health_router,
        clinics_router,
        settings_router,
        templates_router,
        sms_router,
        patients_router,
        messages_router,
    ):
        app.include_router(router)
    return app


app = create_app()
