"""event subscriptions and deliveries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_event_subscription_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscription")),
    )
    with op.batch_alter_table("event_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_subscription_clinic_id"), ["clinic_id"], unique=False
        )

    op.create_table(
        "event_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_event_delivery_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["event_subscription.id"],
            name=op.f("fk_event_delivery_subscription_id_event_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_delivery")),
    )
    with op.batch_alter_table("event_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_delivery_clinic_created", ["clinic_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_event_delivery_clinic_patient", ["clinic_id", "patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_event_delivery_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            batch_op.f("ix_event_delivery_subscription_id"), ["subscription_id"], unique=False
        )

    op.create_table(
        "event_delivery_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["event_delivery.id"],
            name=op.f("fk_event_delivery_attempt_delivery_id_event_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_delivery_attempt")),
    )
    with op.batch_alter_table("event_delivery_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_delivery_attempt_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_delivery_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_delivery_attempt_delivery_id"))
    op.drop_table("event_delivery_attempt")

    with op.batch_alter_table("event_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_delivery_subscription_id"))
        batch_op.drop_index("ix_event_delivery_due")
        batch_op.drop_index("ix_event_delivery_clinic_patient")
        batch_op.drop_index("ix_event_delivery_clinic_created")
    op.drop_table("event_delivery")

    with op.batch_alter_table("event_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_subscription_clinic_id"))
    op.drop_table("event_subscription")
