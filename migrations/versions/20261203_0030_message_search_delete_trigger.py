"""message_search without a foreign key: a trigger on `message` deletes a message's copy

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 12:00:00.000000

The foreign key from `message_search.message_id` to `message.id` (0026, ON DELETE CASCADE)
checked every copy the insert trigger makes against its message, locking that just-inserted
row (FOR KEY SHARE): without it PostgreSQL's CPU for a bulk send's 10,000 messages went from
0.47 s to 0.43 s (issue 15). Only the triggers on `message` write copies, so what the key still guarded is
that a message's copy goes with it; an AFTER DELETE trigger on `message` now does that: on
PostgreSQL once a statement, from its deleted rows (and a TRUNCATE of `message` empties
`message_search` too), on SQLite a row. Both fire for the messages a clinic's deletion
cascades to.

On SQLite the key goes with a rebuild of `message_search` through a temporary copy: not
Alembic's batch rename, which SQLite refuses while the triggers on `message` name the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEY = "fk_message_search_message_id_message"
_POSTGRESQL = (
    """CREATE FUNCTION message_search_drop_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM message_search WHERE message_id IN (SELECT id FROM deleted);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION message_search_drop_all() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE message_search;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER message_search_delete AFTER DELETE ON message "
    "REFERENCING OLD TABLE AS deleted "
    "FOR EACH STATEMENT EXECUTE FUNCTION message_search_drop_deleted()",
    "CREATE TRIGGER message_search_truncate AFTER TRUNCATE ON message "
    "FOR EACH STATEMENT EXECUTE FUNCTION message_search_drop_all()",
)
_SQLITE = (
    "CREATE TRIGGER message_search_delete AFTER DELETE ON message "
    "BEGIN DELETE FROM message_search WHERE message_id = OLD.id; END"
)


def _rebuild_on_sqlite(*, foreign_key: bool) -> None:
    """`message_search` made again, with or without the key, keeping its rows."""
    op.execute("CREATE TEMPORARY TABLE message_search_kept AS SELECT * FROM message_search")
    op.drop_table("message_search")
    constraints = (
        [
            sa.ForeignKeyConstraint(
                ["message_id"], ["message.id"], name=_FOREIGN_KEY, ondelete="CASCADE"
            )
        ]
        if foreign_key
        else []
    )
    op.create_table(
        "message_search",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        *constraints,
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_search")),
    )
    op.execute(
        "INSERT INTO message_search (message_id, clinic_id, document) "
        "SELECT message_id, clinic_id, document FROM message_search_kept"
    )
    op.execute("DROP TABLE message_search_kept")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _rebuild_on_sqlite(foreign_key=False)
        op.execute(_SQLITE)
        return
    for statement in _POSTGRESQL:
        op.execute(statement)
    op.drop_constraint(_FOREIGN_KEY, "message_search", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER message_search_delete")
        _rebuild_on_sqlite(foreign_key=True)
        return
    op.create_foreign_key(
        _FOREIGN_KEY, "message_search", "message", ["message_id"], ["id"], ondelete="CASCADE"
    )
    for trigger in ("message_search_delete", "message_search_truncate"):
        op.execute(f"DROP TRIGGER {trigger} ON message")
    op.execute("DROP FUNCTION message_search_drop_deleted()")
    op.execute("DROP FUNCTION message_search_drop_all()")
