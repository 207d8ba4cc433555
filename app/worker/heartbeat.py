from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.worker.models import WorkerStatus


async def record_heartbeat(session: AsyncSession, status: WorkerStatus, now: datetime) -> None:
    status.last_beat_at = now
    await session.merge(status)


async def newest_heartbeat_age(
    session: AsyncSession, now: datetime, *, host: str | None = None
) -> timedelta | None:
    """How long ago the newest heartbeat was (of a worker on `host`, if given); None if no
    worker ever beat."""
    statement = select(func.max(WorkerStatus.last_beat_at))
    if host is not None:
        statement = statement.where(col(WorkerStatus.host) == host)
    newest: datetime | None = (await session.execute(statement)).scalar_one()
    return None if newest is None else now - newest
