"""A worker's heartbeat row, as a worker on `host` would have written it at `at`."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.worker.models import WorkerStatus


async def record_beat(
    sessionmaker: async_sessionmaker[AsyncSession], *, host: str, at: datetime
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(
            WorkerStatus(
                worker_id=f"{host}:1",
                version="test",
                host=host,
                pid=1,
                mode="sqlite",
                sweep_interval_seconds=20,
                started_at=at,
                last_beat_at=at,
            )
        )
