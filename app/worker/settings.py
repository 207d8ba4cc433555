import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx
from arq import cron, func
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function

from app import __version__
from app.core import secrets
from app.core.clock import Clock, SystemClock
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, session_scope
from app.core.logging import configure_logging
from app.core.logging import request_id as _request_id
from app.core.memory import freeze_startup_objects
from app.deliveries import tasks as delivery_tasks
from app.deliveries.service import DeliveryReport
from app.deliveries.simulated import store_simulated_reports
from app.events import tasks as event_tasks
from app.events.targets import check_public_target
from app.idempotency import tasks as idempotency_tasks
from app.messages import tasks as message_tasks
from app.providers.registry import ProviderFactory
from app.recalls import tasks as recall_tasks
from app.reconciliation import tasks as reconciliation_tasks
from app.retention import tasks as retention_tasks
from app.worker.heartbeat import record_heartbeat
from app.worker.models import WorkerStatus

logger = logging.getLogger(__name__)

WorkerContext = dict[str, Any]
HTTP_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16)


def _status(settings: Settings, clock: Clock) -> WorkerStatus:
    return WorkerStatus(
        worker_id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        version=__version__,
        host=socket.gethostname(),
        pid=os.getpid(),
        mode="sqlite" if settings.is_sqlite else "postgresql",
        sweep_interval_seconds=settings.sweep_interval_seconds,
        started_at=clock.now(),
        last_beat_at=clock.now(),
    )


async def startup(ctx: WorkerContext) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    configure_logging(settings.log_level)
    secrets.configure(settings.secrets_keys)
    clock: Clock = ctx.get("clock") or SystemClock()
    engine = create_engine(settings)
    http = httpx.AsyncClient(limits=HTTP_LIMITS)

    async def report_sink(reports: list[DeliveryReport]) -> None:
        await store_simulated_reports(engine, ctx["redis"], reports, now=clock.now())

    ctx |= {
        "settings": settings,
        "clock": clock,
        "engine": engine,
        "sessionmaker": create_sessionmaker(engine),
        "http": http,
        "providers": ProviderFactory(settings, http, report_sink, clock.now),
        "status": _status(settings, clock),
        "check_event_target": (None if settings.allows_private_event_urls else check_public_target),
    }
    await heartbeat(ctx)
    ctx["heartbeat_task"] = asyncio.create_task(
        _beat_forever(ctx, settings.heartbeat_interval_seconds, ctx.get("sleep", asyncio.sleep))
    )
    freeze_startup_objects()
    logger.info("worker started", extra={"worker_id": ctx["status"].worker_id})


async def shutdown(ctx: WorkerContext) -> None:
    """Also after a start-up that failed half-way (the database down, say)."""
    task: asyncio.Task[None] | None = ctx.get("heartbeat_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "http" in ctx:
        await ctx["http"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()


async def heartbeat(ctx: WorkerContext) -> None:
    async for session in session_scope(ctx["sessionmaker"]):
        await record_heartbeat(session, ctx["status"], ctx["clock"].now())


async def _beat_forever(
    ctx: WorkerContext, interval: float, sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Each worker beats from its own task. Not an arq cron job: those are queued for any
    worker to run (so one worker may beat for another) and wait for a free job slot (so a
    worker busy sending looks dead, and its claims are settled under it)."""
    while True:
        await sleep(interval)
        try:
            await heartbeat(ctx)
        except Exception:
            logger.warning("could not record the heartbeat; trying again", exc_info=True)


def with_request_id(task: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """The job's log lines carry the id of the request that enqueued it (`push_jobs`)."""

    @functools.wraps(task)
    async def run(ctx: WorkerContext, *args: Any, request_id: str | None = None) -> Any:
        token = _request_id.set(request_id)
        try:
            return await task(ctx, *args)
        finally:
            _request_id.reset(token)

    return run


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, seconds))


class WorkerSettings:
    """What `python -m app.worker` runs. Job names are explicit and stable: deferred jobs
    outlive deploys, and a renamed function would orphan them."""

    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    on_startup = startup
    on_shutdown = shutdown
    functions: ClassVar[list[Function]] = [
        func(
            with_request_id(message_tasks.dispatch),
            name=message_tasks.DISPATCH_JOB,
            timeout=message_tasks.DISPATCH_TIMEOUT_SECONDS,
            max_tries=3,
        ),
        func(
            with_request_id(delivery_tasks.apply_stored),
            name=delivery_tasks.APPLY_STORED_JOB,
            timeout=120,
        ),
        func(
            with_request_id(event_tasks.deliver),
            name=event_tasks.DELIVER_JOB,
            timeout=600,
            max_tries=3,
        ),
    ]
    cron_jobs: ClassVar[list[CronJob]] = [
        cron(
            message_tasks.sweep,
            name=message_tasks.SWEEP_JOB,
            second=_every(get_settings().sweep_interval_seconds),
            unique=True,
            run_at_startup=True,
            timeout=120,
        ),
        cron(
            delivery_tasks.sweep,
            name=delivery_tasks.SWEEP_JOB,
            second=_every(get_settings().sweep_interval_seconds),
            unique=True,
            run_at_startup=True,
            timeout=120,
        ),
        cron(
            event_tasks.sweep,
            name=event_tasks.SWEEP_JOB,
            second=_every(get_settings().sweep_interval_seconds),
            unique=True,
            run_at_startup=True,
            timeout=60,
        ),
        cron(
            idempotency_tasks.sweep,
            name=idempotency_tasks.SWEEP_JOB,
            minute={0, 15, 30, 45},
            second=0,
            unique=True,
            run_at_startup=True,
            timeout=120,
        ),
        cron(
            reconciliation_tasks.reconcile,
            name=reconciliation_tasks.RECONCILE_JOB,
            minute=set(range(0, 60, 5)),
            second=30,
            unique=True,
            timeout=300,
        ),
        cron(
            recall_tasks.plan,
            name=recall_tasks.PLAN_JOB,
            minute=set(range(0, 60, 5)),
            second=45,
            unique=True,
            run_at_startup=True,
            timeout=300,
        ),
        cron(
            retention_tasks.purge,
            name=retention_tasks.PURGE_JOB,
            minute={5, 35},
            second=0,
            unique=True,
            timeout=600,
        ),
    ]
    # arq's default of 0.5 s made every wake-up wait for the next poll: ~0.7 s of each
    # 10,000-message round in bench_dispatch. An idle poll is one Redis round trip.
    poll_delay = 0.05
    health_check_interval = 30
    keep_result = 0
    max_jobs = 20
    allow_abort_jobs = False
