"""message_search: the free-text search's copy of each message, kept by triggers

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 16:00:00.000000

Each status update of a message (the worker's claim and record, delivery reports) rewrote
the trigram index on `message` (0025), though the searched text never changes then. The
searched document now lives in `message_search`, one row a message, with the trigram
index (by clinic, btree_gin as in 0025) on PostgreSQL; triggers fill it when a message is
inserted (on PostgreSQL once a statement: a bulk insert costs one INSERT ... SELECT more)
and refresh it only when its text or names are updated. SQLite gets the same table and
triggers, so the search reads one table on both.

On PostgreSQL the triggers come first, then the backfill of existing rows and the index
(CONCURRENTLY): `message` keeps taking writes. A message updated while the backfill runs
is upserted by its trigger, and the backfill skips rows already there, so neither the
trigger's copy nor the backfill's can be overwritten by an older one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WATCHED = ("patient_name", "recipient_name", "text")


def _document(row: str = "") -> str:
    """The searched document of a message (`row` "NEW." in a trigger); must stay what
    `searched()` in app/messages/listing.py computes, and 0025's index expression."""
    name, recipient, text = (f"coalesce({row}{column}, '')" for column in _WATCHED)
    return f"lower({name} || ' ' || {recipient} || ' ' || {text})"


_INTO = "INSERT INTO message_search (message_id, clinic_id, document)"
_BACKFILL = f"{_INTO} SELECT id, clinic_id, {_document()} FROM message"
_COPY = f"{_INTO} VALUES (NEW.id, NEW.clinic_id, {_document('NEW.')})"
_CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in _WATCHED)
_OF_WATCHED = ", ".join(_WATCHED)
# Inserts are copied once a statement (a bulk insert is one INSERT ... SELECT, not a
# function call a row); updates a row, upserted: a message updated while the backfill
# runs is copied even so.
_POSTGRESQL = (
    f"""CREATE FUNCTION message_search_copy_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_INTO} SELECT id, clinic_id, {_document()} FROM inserted;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION message_search_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_COPY}
        ON CONFLICT (message_id) DO UPDATE SET document = EXCLUDED.document;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER message_search_insert AFTER INSERT ON message "
    "REFERENCING NEW TABLE AS inserted "
    "FOR EACH STATEMENT EXECUTE FUNCTION message_search_copy_inserted()",
    f"CREATE TRIGGER message_search_update AFTER UPDATE OF {_OF_WATCHED} ON message "
    f"FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION message_search_copy()",
)
_SQLITE = (
    f"CREATE TRIGGER message_search_insert AFTER INSERT ON message BEGIN {_COPY}; END",
    f"CREATE TRIGGER message_search_update AFTER UPDATE OF {_OF_WATCHED} ON message "
    f"WHEN {_CHANGED} BEGIN UPDATE message_search SET document = {_document('NEW.')} "
    "WHERE message_id = NEW.id; END",
)
_OLD_INDEX = (
    "CREATE INDEX CONCURRENTLY ix_message_clinic_search ON message USING gin "
    f"((clinic_id::text), {_document()} gin_trgm_ops)"
)


def upgrade() -> None:
    op.create_table(
        "message_search",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_message_search_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_search")),
    )
    if op.get_bind().dialect.name != "postgresql":
        for statement in _SQLITE:
            op.execute(statement)
        op.execute(_BACKFILL)
        return
    for statement in _POSTGRESQL:
        op.execute(statement)
    with op.get_context().autocommit_block():
        op.execute(f"{_BACKFILL} ON CONFLICT (message_id) DO NOTHING")
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_message_search_document ON message_search "
            "USING gin (clinic_id, document gin_trgm_ops)"
        )
        op.execute("DROP INDEX CONCURRENTLY ix_message_clinic_search")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        with op.get_context().autocommit_block():
            op.execute(_OLD_INDEX)
    for trigger in ("message_search_insert", "message_search_update"):
        op.execute(f"DROP TRIGGER {trigger}" + (" ON message" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION message_search_copy_inserted()")
        op.execute("DROP FUNCTION message_search_copy()")
    op.drop_table("message_search")
