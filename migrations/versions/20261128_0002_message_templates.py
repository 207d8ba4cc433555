"""message templates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:00:00.000000

Creates `message_template` and gives every existing clinic the twelve default texts, as
they were at this revision (later changes to the defaults in the app do not rewrite it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPLY = 'Svar JA for å bekrefte eller NEI om du ikke kan komme.'
_OPT_OUT = 'Svar STOPP for å reservere deg mot slike meldinger.'

# (type, text, allow_reply): the defaults of app/templates/defaults.py at this revision.
_DEFAULTS: tuple[tuple[str, str, bool], ...] = (
    ('general', 'Hei [Fornavn]!', False),
    ('reminder_1', f'Hei [Fornavn]! Du har time hos [Behandler] [Tidspunkt]. {_REPLY}', True),
    (
        'reminder_2',
        f'Hei [Fornavn]! Påminnelse om timen din hos [Behandler] [Tidspunkt]. {_REPLY}',
        True,
    ),
    ('reminder_3', f'Hei [Fornavn]! Husk timen din hos [Behandler] [Tidspunkt]. {_REPLY}', True),
    (
        'thank_you',
        'Hei [Fornavn]! Takk for besøket hos oss i dag. '
        'Ring oss på [Businessphone] om du har spørsmål.',
        False,
    ),
    (
        'notice',
        'Hei [Fornavn]! Beskjed fra tannklinikken: '
        'Vi ber deg ta kontakt med oss på [Businessphone].',
        False,
    ),
    (
        'recall',
        'Hei [Fornavn]! Det er på tide med din årlige tannkontroll. '
        'Ring oss på [Businessphone] eller bestill time på [URL]',
        False,
    ),
    (
        'booking_confirmation',
        f'Hei [Fornavn]! Du har fått ny time hos [Behandler] [Tidspunkt]. {_REPLY}',
        True,
    ),
    (
        'cancellation_confirmation',
        'Hei [Fornavn]! Timen din [Tidspunkt] er avbestilt. '
        'Ring oss på [Businessphone] for å få ny time.',
        False,
    ),
    (
        'marketing',
        f'Hei [Fornavn]! Nyheter og gode tilbud fra tannklinikken: [URL]\n{_OPT_OUT}',
        False,
    ),
    (
        'offer',
        f'Hei [Fornavn]! Vi har et eget tilbud til deg som pasient: [URL]\n{_OPT_OUT}',
        False,
    ),
    ('mobile_payment', 'Hei [Fornavn]! Du kan betale for behandlingen din her: [URL]', False),
)


def upgrade() -> None:

    op.create_table('message_template',
    sa.Column('clinic_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('allow_reply', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_message_template_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clinic_id', 'type', name=op.f('pk_message_template'))
    )

    # Clinics created before this revision get the defaults, as new clinics do.
    clinic = sa.table('clinic', sa.column('id', sa.Uuid()))
    message_template = sa.table(
        'message_template',
        sa.column('clinic_id', sa.Uuid()),
        sa.column('type', sa.String()),
        sa.column('text', sa.String()),
        sa.column('allow_reply', sa.Boolean()),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    for type_, text, allow_reply in _DEFAULTS:
        op.execute(
            message_template.insert().from_select(
                ['clinic_id', 'type', 'text', 'allow_reply', 'updated_at'],
                sa.select(
                    clinic.c.id,
                    sa.literal(type_, sa.String()),
                    sa.literal(text, sa.String()),
                    sa.literal(allow_reply, sa.Boolean()),
                    sa.func.current_timestamp(),
                ),
            )
        )


def downgrade() -> None:

    op.drop_table('message_template')
