import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from app.worker.heartbeat import newest_heartbeat_age

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    worker_heartbeat_age_seconds: float | None = Field(
        description="How long ago the newest worker heartbeat was; null if none ever beat."
    )


async def _check_database(request: Request) -> None:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


async def _heartbeat_age(request: Request) -> timedelta | None:
    async with request.app.state.sessionmaker() as session:
        return await newest_heartbeat_age(session, request.app.state.clock.now())


def _worker_outcome(age: timedelta | None, dead_after_seconds: int) -> str:
    """Sending needs a live worker: none beating within `WORKER_DEAD_AFTER_SECONDS` fails."""
    if age is None:
        return "error: no worker has ever beaten"
    if age.total_seconds() > dead_after_seconds:
        return f"error: no worker heartbeat for {age.total_seconds():.0f} s"
    return "ok"


async def _outcome(check: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "error: no answer within 2 s"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get("/healthz")
async def healthz() -> Liveness:
    return Liveness()


@router.get("/readyz", responses={503: {"model": Readiness}})
async def readyz(request: Request) -> JSONResponse:
    heartbeat = asyncio.ensure_future(_heartbeat_age(request))
    database, redis, worker = await asyncio.gather(
        _outcome(asyncio.ensure_future(_check_database(request))),
        _outcome(asyncio.ensure_future(_check_redis(request))),
        _outcome(heartbeat),
    )
    age = heartbeat.result() if worker == "ok" else None
    if worker == "ok":
        worker = _worker_outcome(age, request.app.state.settings.worker_dead_after_seconds)
    checks = {"database": database, "redis": redis, "worker": worker}
    ready = all(outcome == "ok" for outcome in checks.values())
    body = Readiness(
        status="ok" if ready else "unavailable",
        checks=checks,
        worker_heartbeat_age_seconds=None if age is None else round(age.total_seconds(), 1),
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
