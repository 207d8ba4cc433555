"""The worker deletes idempotency records older than `IDEMPOTENCY_TTL_HOURS`."""

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlmodel import col

from app.core.db import session_scope
from app.idempotency.models import IdempotencyRecord

SWEEP_JOB = "idempotency_sweep"
BATCH_SIZE = 1000
MAX_BATCHES = 50

JobContext = dict[str, Any]


async def sweep(ctx: JobContext) -> dict[str, int]:
    """Delete expired records, a bounded batch per short transaction."""
    cutoff = ctx["clock"].now() - timedelta(hours=ctx["settings"].idempotency_ttl_hours)
    deleted = 0
    for _ in range(MAX_BATCHES):
        async for session in session_scope(ctx["sessionmaker"]):
            keys = (
                await session.execute(
                    select(col(IdempotencyRecord.clinic_id), col(IdempotencyRecord.key))
                    .where(col(IdempotencyRecord.created_at) <= cutoff)
                    .limit(BATCH_SIZE)
                )
            ).all()
            if keys:
                await session.execute(
                    delete(IdempotencyRecord)
                    .where(
                        tuple_(col(IdempotencyRecord.clinic_id), col(IdempotencyRecord.key)).in_(
                            [tuple(row) for row in keys]
                        )
                    )
                    .execution_options(synchronize_session=False)
                )
        deleted += len(keys)
        if len(keys) < BATCH_SIZE:
            break
    return {"deleted": deleted}
