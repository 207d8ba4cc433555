import logging
import os
import socket
import uuid
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings
from arq.cron import CronJob

from app import __version__
from app.core.clock import Clock, SystemClock
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, session_scope
from app.core.logging import configure_logging
from app.worker.heartbeat import record_heartbeat
from app.worker.models import WorkerStatus

logger = logging.getLogger(__name__)

WorkerContext = dict[str, Any]


async def startup(ctx: WorkerContext) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    configure_logging(settings.log_level)
    clock: Clock = ctx.get("clock") or SystemClock()
    engine = create_engine(settings)
    ctx |= {
        "settings": settings,
        "clock": clock,
        "engine": engine,
        "sessionmaker": create_sessionmaker(engine),
        "status": WorkerStatus(
            worker_id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
            version=__version__,
            host=socket.gethostname(),
            pid=os.getpid(),
            mode="sqlite" if settings.is_sqlite else "postgresql",
            sweep_interval_seconds=settings.sweep_interval_seconds,
            started_at=clock.now(),
            last_beat_at=clock.now(),
        ),
    }
    await heartbeat(ctx)
    logger.info("worker started", extra={"worker_id": ctx["status"].worker_id})


async def shutdown(ctx: WorkerContext) -> None:
    await ctx["engine"].dispose()


async def heartbeat(ctx: WorkerContext) -> None:
    async for session in session_scope(ctx["sessionmaker"]):
        await record_heartbeat(session, ctx["status"], ctx["clock"].now())


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, seconds))


class WorkerSettings:
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    on_startup = startup
    on_shutdown = shutdown
    functions: ClassVar[list[Any]] = []
    cron_jobs: ClassVar[list[CronJob]] = [
        cron(heartbeat, name="worker.heartbeat", second=_every(15), run_at_startup=False),
    ]
    health_check_interval = 30
    keep_result = 0
    max_jobs = 20
