"""patients messages idempotency

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 14:12:23.980995
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('idempotency_record',
    sa.Column('clinic_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_idempotency_record_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clinic_id', 'key', name=op.f('pk_idempotency_record'))
    )
    op.create_table('patient',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('clinic_id', sa.Uuid(), nullable=False),
    sa.Column('patient_no', sa.String(length=50), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('mobile', sa.String(length=16), nullable=True),
    sa.Column('mobile_problem', sa.String(length=20), nullable=True),
    sa.Column('wants_sms', sa.Boolean(), nullable=False),
    sa.Column('guardians', sa.JSON(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_text', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_patient_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('clinic_id', 'patient_no', name=op.f('uq_patient_clinic_id_patient_no'))
    )
    op.create_table('message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('clinic_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('patient_no', sa.String(length=50), nullable=True),
    sa.Column('patient_name', sa.String(length=250), nullable=True),
    sa.Column('recipient_role', sa.String(length=10), nullable=False),
    sa.Column('recipient_name', sa.String(length=250), nullable=True),
    sa.Column('to_number', sa.String(length=16), nullable=True),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('appointment_id', sa.String(length=100), nullable=True),
    sa.Column('practitioner', sa.String(length=100), nullable=True),
    sa.Column('allow_reply', sa.Boolean(), nullable=False),
    sa.Column('text', sa.String(), nullable=True),
    sa.Column('encoding', sa.String(length=5), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('failure_reason', sa.String(length=30), nullable=True),
    sa.Column('failure_detail', sa.String(length=300), nullable=True),
    sa.Column('delivery', sa.String(length=12), nullable=True),
    sa.Column('send_kind', sa.String(length=10), nullable=False),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_message_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_message_clinic_id_clinic'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_message_patient_id_patient'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # Room on each page so updates of unindexed columns (delivery, sent_at) stay HOT.
        op.execute("ALTER TABLE message SET (fillfactor = 85)")
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_clinic_appointment', ['clinic_id', 'appointment_id'], unique=False)
        batch_op.create_index('ix_message_clinic_created', ['clinic_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_message_clinic_number', ['clinic_id', 'to_number'], unique=False)
        batch_op.create_index('ix_message_clinic_patient', ['clinic_id', 'patient_id'], unique=False)
        batch_op.create_index(
            'ix_message_due',
            ['next_attempt_at'],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            'ix_message_sending',
            ['claimed_at'],
            unique=False,
            postgresql_where=sa.text("status = 'sending'"),
            sqlite_where=sa.text("status = 'sending'"),
        )




def downgrade() -> None:

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_sending')
        batch_op.drop_index('ix_message_due')
        batch_op.drop_index('ix_message_clinic_patient')
        batch_op.drop_index('ix_message_clinic_number')
        batch_op.drop_index('ix_message_clinic_created')
        batch_op.drop_index('ix_message_clinic_appointment')

    op.drop_table('message')
    op.drop_table('patient')
    op.drop_table('idempotency_record')

