from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime


class WorkerStatus(SQLModel, table=True):
    """One row per worker process, refreshed by its heartbeat."""

    __tablename__ = "worker_status"

    worker_id: str = Field(primary_key=True, max_length=100)
    version: str = Field(max_length=40)
    host: str = Field(max_length=255)
    pid: int
    mode: str = Field(max_length=40)
    sweep_interval_seconds: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    last_beat_at: datetime = Field(sa_type=UTCDateTime, index=True)
