"""spending caps: a clinic's monthly spend cap and per-patient daily cap, and the notices
that tell the practice system once per period that a cap held a message back

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(sa.Column("monthly_spend_cap", sa.Numeric(12, 2), nullable=True))
        batch.add_column(
            sa.Column("max_per_patient_per_day", sa.Integer(), nullable=True, server_default="3")
        )
        batch.add_column(
            sa.Column(
                "cap_exempts_service", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
    op.create_table(
        "cap_notice",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("cap", sa.String(length=30), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cap_notice_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinic_id", "cap", "period", name=op.f("pk_cap_notice")),
    )


def downgrade() -> None:
    op.drop_table("cap_notice")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("cap_exempts_service")
        batch.drop_column("max_per_patient_per_day")
        batch.drop_column("monthly_spend_cap")
