from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.worker.models import WorkerStatus


async def record_heartbeat(session: AsyncSession, status: WorkerStatus, now: datetime) -> None:
    status.last_beat_at = now
    await session.merge(status)
