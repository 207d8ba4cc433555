"""message_appointment: one reminder shared by a person's appointments on one day

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 05:30:00.000000

A reminder or booking confirmation to one number for several appointments on one local day
is one message; this table names its appointments, each with the start, patient and timing
its own message would have had (app/appointments/grouping.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_appointment",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.String(length=100), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id", "appointment_id"],
            ["appointment.clinic_id", "appointment.appointment_id"],
            name=op.f("fk_message_appointment_clinic_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_message_appointment_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_message_appointment_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "message_id", "appointment_id", name=op.f("pk_message_appointment")
        ),
    )
    op.create_index(
        "ix_message_appointment_appointment",
        "message_appointment",
        ["clinic_id", "appointment_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_message_appointment_appointment", table_name="message_appointment")
    op.drop_table("message_appointment")
