from collections.abc import AsyncIterator
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.config import Settings
from app.core.jobs import push_jobs, take_pending_jobs
from app.core.ratelimit import RequestLimiter


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's single transaction; jobs it enqueued are pushed only after commit."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            take_pending_jobs(session)
            raise
    await push_jobs(
        request.app.state.redis, take_pending_jobs(session), now=request.app.state.clock.now()
    )


# The dependencies are coroutines though they never wait: FastAPI runs a plain function
# in a worker thread, a hop to a thread and back on every request.
async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_redis(request: Request) -> ArqRedis:
    redis: ArqRedis = request.app.state.redis
    return redis


async def get_rate_limiter(request: Request) -> RequestLimiter:
    limiter: RequestLimiter = request.app.state.rate_limiter
    return limiter


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RedisDep = Annotated[ArqRedis, Depends(get_redis)]
RateLimiterDep = Annotated[RequestLimiter, Depends(get_rate_limiter)]
