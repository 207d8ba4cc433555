"""The claim finds its rows by the primary key, however large the table: the locked ids
go to the UPDATE as one array on PostgreSQL, where a join with them may be planned as a
hash join over every message."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.messages.claim import claim_statement
from tests.messages.conftest import plan_of

# A clinic's 5,000 due messages, analyzed, as a worker finds them after a bulk send.
_DUE = text(
    "INSERT INTO message (id, clinic_id, patient_name, recipient_role, type, text, encoding, "
    "segments, cost, currency, status, send_kind, send_after, next_attempt_at, expires_at, "
    "attempts, allow_reply, created_at, to_number) "
    "SELECT gen_random_uuid(), CAST(:clinic_id AS uuid), 'Ola Hansen', 'patient', "
    "'free_text', 'Hei Ola ' || g, 'GSM7', 1, 0.45, 'NOK', 'pending', 'now', now(), "
    "now() - interval '1 minute', now() + interval '1 day', 0, false, now(), '+4791234567' "
    "FROM generate_series(1, 5000) AS g"
)


async def test_the_claim_updates_its_rows_through_the_primary_key(engine: AsyncEngine) -> None:
    dialect = engine.dialect.name
    clinic_id = uuid.uuid4()
    seed = (clinic_id, _DUE, {"clinic_id": str(clinic_id)}) if dialect == "postgresql" else None
    statement = claim_statement(datetime.now(UTC), 1000, "worker", dialect=dialect)
    plan = "\n".join(await plan_of(engine, statement, seed=seed))
    if dialect == "postgresql":
        assert "on pk_message" in plan or "using pk_message on message " in plan, plan
        assert "Index Cond: (id = ANY" in plan, plan
        assert "Seq Scan on message" not in plan, plan
    else:
        assert "SEARCH message USING COVERING INDEX sqlite_autoindex_message_1 (id=?)" in plan, plan
