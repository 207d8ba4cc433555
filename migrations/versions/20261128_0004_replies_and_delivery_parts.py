"""replies and delivery parts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confirm_keyword", sa.String(length=20), nullable=False, server_default="JA")
        )
        batch_op.add_column(
            sa.Column("cancel_keyword", sa.String(length=20), nullable=False, server_default="NEI")
        )

    op.create_table(
        "reply",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=120), nullable=False),
        sa.Column("from_number", sa.String(length=32), nullable=True),
        sa.Column("to_number", sa.String(length=32), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("patient_no", sa.String(length=50), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("keyword", sa.String(length=10), nullable=True),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_reply_clinic_id_clinic"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_reply_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_reply_patient_id_patient"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply")),
        sa.UniqueConstraint(
            "clinic_id",
            "provider",
            "provider_message_id",
            name=op.f("uq_reply_clinic_id_provider_provider_message_id"),
        ),
    )
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.create_index("ix_reply_clinic_from", ["clinic_id", "from_number"], unique=False)
        batch_op.create_index("ix_reply_clinic_patient", ["clinic_id", "patient_id"], unique=False)
        batch_op.create_index(
            "ix_reply_clinic_received", ["clinic_id", "received_at", "id"], unique=False
        )

    op.create_table(
        "delivery_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=120), nullable=False),
        sa.Column("status_code", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("part", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_delivery_report_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_report")),
        sa.UniqueConstraint(
            "clinic_id",
            "provider",
            "external_id",
            "status_code",
            name=op.f("uq_delivery_report_clinic_id_provider_external_id_status_code"),
        ),
    )
    with op.batch_alter_table("delivery_report", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_report_clinic_received", ["clinic_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_delivery_report_message", ["message_id"], unique=False)
        batch_op.create_index(
            "ix_delivery_report_unapplied",
            ["received_at"],
            unique=False,
            postgresql_where=sa.text("applied_at IS NULL"),
            sqlite_where=sa.text("applied_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_report", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_report_unapplied")
        batch_op.drop_index("ix_delivery_report_message")
        batch_op.drop_index("ix_delivery_report_clinic_received")
    op.drop_table("delivery_report")

    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_clinic_received")
        batch_op.drop_index("ix_reply_clinic_patient")
        batch_op.drop_index("ix_reply_clinic_from")
    op.drop_table("reply")

    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        batch_op.drop_column("cancel_keyword")
        batch_op.drop_column("confirm_keyword")
