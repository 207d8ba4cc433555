"""failover to a secondary provider; reconciliation of messages without a report

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clinic_settings", sa.Column("secondary_provider", sa.String(length=20), nullable=True)
    )
    op.create_table(
        "provider_circuit",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_provider_circuit_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinic_id", "provider", name=op.f("pk_provider_circuit")),
    )
    op.add_column("message", sa.Column("delivery_reason", sa.String(length=20), nullable=True))
    op.add_column("message", sa.Column("report_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_message_awaiting_report",
        "message",
        ["sent_at"],
        postgresql_where=sa.text("delivery = 'accepted'"),
        sqlite_where=sa.text("delivery = 'accepted'"),
    )


def downgrade() -> None:
    op.drop_index("ix_message_awaiting_report", table_name="message")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("report_checked_at")
        batch.drop_column("delivery_reason")
    op.drop_table("provider_circuit")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("secondary_provider")
