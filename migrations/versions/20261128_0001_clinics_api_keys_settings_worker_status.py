"""clinics api keys settings worker status

Revision ID: 0001
Revises:
Create Date: 2026-11-28 14:03:47.352631
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('clinic',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('webhook_secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic')),
    sa.UniqueConstraint('webhook_secret', name=op.f('uq_clinic_webhook_secret'))
    )
    op.create_table('worker_status',
    sa.Column('worker_id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=40), nullable=False),
    sa.Column('sweep_interval_seconds', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_worker_status'))
    )
    with op.batch_alter_table('worker_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_status_last_beat_at'), ['last_beat_at'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('clinic_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_api_key_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_clinic_id'), ['clinic_id'], unique=False)

    op.create_table('clinic_settings',
    sa.Column('clinic_id', sa.Uuid(), nullable=False),
    sa.Column('sms_enabled', sa.Boolean(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_credentials', sa.JSON(), nullable=False),
    sa.Column('sender_name', sa.String(length=11), nullable=True),
    sa.Column('reply_number', sa.String(length=16), nullable=True),
    sa.Column('business_phone', sa.String(length=16), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('pause_saturday', sa.Boolean(), nullable=False),
    sa.Column('pause_sunday', sa.Boolean(), nullable=False),
    sa.Column('night_start', sa.Time(), nullable=True),
    sa.Column('night_end', sa.Time(), nullable=True),
    sa.Column('reminder_policy', sa.String(length=20), nullable=False),
    sa.Column('include_guardians', sa.Boolean(), nullable=False),
    sa.Column('price_per_segment', sa.Numeric(precision=10, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('max_segments', sa.Integer(), nullable=False),
    sa.Column('reply_window_hours', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_clinic_settings_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clinic_id', name=op.f('pk_clinic_settings'))
    )



def downgrade() -> None:

    op.drop_table('clinic_settings')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_clinic_id'))

    op.drop_table('api_key')
    with op.batch_alter_table('worker_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_status_last_beat_at'))

    op.drop_table('worker_status')
    op.drop_table('clinic')

