"""The arq worker: `python -m app.worker` (arq's own `arq app.worker.WorkerSettings` also
runs it, but exits when Redis goes away)."""

from app.worker.settings import WorkerSettings

__all__ = ["WorkerSettings"]
