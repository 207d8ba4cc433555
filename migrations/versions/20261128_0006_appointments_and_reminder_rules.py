"""appointments and reminder rules

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_rules",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("reminder_1_enabled", sa.Boolean(), nullable=False),
        sa.Column("reminder_1_hours_before", sa.Integer(), nullable=False),
        sa.Column("reminder_1_min_lead_hours", sa.Integer(), nullable=False),
        sa.Column("reminder_2_enabled", sa.Boolean(), nullable=False),
        sa.Column("reminder_2_hours_before", sa.Integer(), nullable=False),
        sa.Column("reminder_2_min_lead_hours", sa.Integer(), nullable=False),
        sa.Column("reminder_3_enabled", sa.Boolean(), nullable=False),
        sa.Column("reminder_3_hours_before", sa.Integer(), nullable=False),
        sa.Column("reminder_3_min_lead_hours", sa.Integer(), nullable=False),
        sa.Column("booking_confirmation", sa.Boolean(), nullable=False),
        sa.Column("cancellation_confirmation", sa.Boolean(), nullable=False),
        sa.Column("thank_you_enabled", sa.Boolean(), nullable=False),
        sa.Column("thank_you_hours_after", sa.Integer(), nullable=False),
        sa.Column("recall_enabled", sa.Boolean(), nullable=False),
        sa.Column("recall_interval_months", sa.Integer(), nullable=False),
        sa.Column("recall_template_type", sa.String(length=30), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_reminder_rules_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_reminder_rules")),
    )
    op.create_table(
        "appointment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.String(length=100), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner", sa.String(length=100), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("confirmation", sa.String(length=24), nullable=True),
        sa.Column("confirmation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rescheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_appointment_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_appointment_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
        sa.UniqueConstraint(
            "clinic_id", "appointment_id", name=op.f("uq_appointment_clinic_id_appointment_id")
        ),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_clinic_start", ["clinic_id", "start_at"], unique=False
        )
        batch_op.create_index("ix_appointment_patient", ["patient_id"], unique=False)

    op.create_table(
        "appointment_reminder",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("skip_reason", sa.String(length=30), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id", "appointment_id"],
            ["appointment.clinic_id", "appointment.appointment_id"],
            name=op.f("fk_appointment_reminder_clinic_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_reminder")),
        sa.UniqueConstraint(
            "clinic_id",
            "appointment_id",
            "kind",
            name=op.f("uq_appointment_reminder_clinic_id_appointment_id_kind"),
        ),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("appointment_start_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("appointment_start_at")

    op.drop_table("appointment_reminder")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_patient")
        batch_op.drop_index("ix_appointment_clinic_start")

    op.drop_table("appointment")
    op.drop_table("reminder_rules")
