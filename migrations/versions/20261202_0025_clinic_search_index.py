"""message search index by clinic: the clinic in the trigram index (PostgreSQL)

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-02 05:30:00.000000

The free-text search of `GET /v1/messages` is always within one clinic. With the clinic in
the trigram index itself (btree_gin, a trusted extension like pg_trgm), a word that fills
other clinics' messages but not this clinic's is found absent in the index alone, never by
reading rows. The clinic is there as text, which no other index holds: the search asks for
it so (app/messages/listing.py), and the planner cannot take a clinic btree instead and
read every row of the clinic. Built CONCURRENTLY before the old one is dropped: the search
keeps an index and the table keeps taking writes. Nothing changes on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay the expression app/messages/listing.py searches (as in 0021).
SEARCH_EXPRESSION = (
    "lower(coalesce(patient_name, '') || ' ' || coalesce(recipient_name, '') || ' ' "
    "|| coalesce(text, ''))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_message_clinic_search ON message USING gin "
            f"((clinic_id::text), {SEARCH_EXPRESSION} gin_trgm_ops)"
        )
        op.execute("DROP INDEX CONCURRENTLY ix_message_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_message_search ON message USING gin "
            f"({SEARCH_EXPRESSION} gin_trgm_ops)"
        )
        op.execute("DROP INDEX CONCURRENTLY ix_message_clinic_search")
