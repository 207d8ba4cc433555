"""message text source, number opt-out, marketing templates reply-able

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("message", sa.Column("text_source", sa.String(), nullable=True))
    op.create_table(
        "number_opt_out",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_number_opt_out_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_opt_out")),
        sa.UniqueConstraint(
            "clinic_id", "number", name=op.f("uq_number_opt_out_clinic_id_number")
        ),
    )
    # Marketing and offers go from the reply number, where STOPP can be answered.
    op.execute(
        "UPDATE message_template SET allow_reply = true WHERE type IN ('marketing', 'offer')"
    )


def downgrade() -> None:
    op.drop_table("number_opt_out")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("text_source")
