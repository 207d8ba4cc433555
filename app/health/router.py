import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


async def _check_database(request: Request) -> None:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


async def _outcome(check: asyncio.Future[None] | asyncio.Task[None]) -> str:
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
    database, redis = await asyncio.gather(
        _outcome(asyncio.ensure_future(_check_database(request))),
        _outcome(asyncio.ensure_future(_check_redis(request))),
    )
    checks = {"database": database, "redis": redis}
    ready = all(outcome == "ok" for outcome in checks.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
