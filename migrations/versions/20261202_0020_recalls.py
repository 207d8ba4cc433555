"""recalls: a patient's recall due date and its attempts; when recalls go

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RULE_COLUMNS = (
    ("recall_days_before_due", "30"),
    ("recall_send_hour", "10"),
    ("recall_repeat_after_days", "30"),
    ("recall_max_attempts", "2"),
)


def upgrade() -> None:
    with op.batch_alter_table("reminder_rules") as batch:
        for name, default in _RULE_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=default))
        batch.add_column(sa.Column("recall_booking_url", sa.String(length=200), nullable=True))
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(sa.Column("recall_daily_cap", sa.Integer(), nullable=True))
    op.create_table(
        "recall",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("skip_reason", sa.String(length=30), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_recall_clinic_id_clinic"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_recall_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_recall_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_recall_patient_id")),
    )
    op.create_index("ix_recall_clinic_due", "recall", ["clinic_id", "due_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_recall_clinic_due", table_name="recall")
    op.drop_table("recall")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("recall_daily_cap")
    with op.batch_alter_table("reminder_rules") as batch:
        batch.drop_column("recall_booking_url")
        for name, _ in reversed(_RULE_COLUMNS):
            batch.drop_column(name)
