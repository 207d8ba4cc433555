"""message list indexes: one per list filter, and trigram search on PostgreSQL

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-02 02:30:00.000000

Each filter of `GET /v1/messages` gets an index that reads its newest 50 rows directly
(clinic, the filtered column, then the list's order), so a rare value no longer means
walking the whole clinic. On PostgreSQL the free-text search gets a trigram index
(pg_trgm, a trusted extension: the database owner may create it) on the expression the
search reads, and expiring overdue messages gets its own partial index, so the sweep
reads only what has expired, not every pending message. On PostgreSQL the indexes are
built CONCURRENTLY: a big table keeps taking writes meanwhile.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FILTERED = ("status", "type", "patient_no", "practitioner")
# Must stay the expression app/messages/listing.py searches.
SEARCH_EXPRESSION = (
    "lower(coalesce(patient_name, '') || ' ' || coalesce(recipient_name, '') || ' ' "
    "|| coalesce(text, ''))"
)
_PENDING = "status = 'pending'"


def _list_indexes() -> dict[str, list[str]]:
    indexes = {"ix_message_clinic_number": ["clinic_id", "to_number", "created_at", "id"]}
    for column in _FILTERED:
        indexes[f"ix_message_clinic_{column}"] = ["clinic_id", column, "created_at", "id"]
    return indexes


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("message") as batch:
            batch.drop_index("ix_message_clinic_number")
            for name, columns in _list_indexes().items():
                batch.create_index(name, columns)
            batch.create_index("ix_message_expiry", ["expires_at"], sqlite_where=sa.text(_PENDING))
        return
    # A big message table keeps taking writes while these are built.
    with op.get_context().autocommit_block():
        op.drop_index("ix_message_clinic_number", "message", postgresql_concurrently=True)
        for name, columns in _list_indexes().items():
            op.create_index(name, "message", columns, postgresql_concurrently=True)
        op.create_index(
            "ix_message_expiry",
            "message",
            ["expires_at"],
            postgresql_where=sa.text(_PENDING),
            postgresql_concurrently=True,
        )
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_message_search ON message USING gin "
            f"({SEARCH_EXPRESSION} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_message_search")
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_expiry")
        for name in _list_indexes():
            batch.drop_index(name)
        batch.create_index("ix_message_clinic_number", ["clinic_id", "to_number"])
