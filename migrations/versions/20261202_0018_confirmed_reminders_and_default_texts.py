"""reminders only if unconfirmed, appointments without reminders, default texts that are right

Revision ID: 0018
Revises: 0020
Create Date: 2026-12-02 12:00:00.000000

Adds `reminder_rules.reminder_{2,3}_only_if_unconfirmed` (default true),
`appointment.sms_reminders` (default true) and an index for listing messages by send time.
A clinic's template still holding our old default text gets the new default: the old ones
said "i dag" and "årlige", named the patient to a guardian and spelt out JA, NEI and STOPP.
Texts a clinic wrote itself are left alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_REPLY = "Svar JA for å bekrefte eller NEI om du ikke kan komme."
_OLD_OPT_OUT = "Svar STOPP for å reservere deg mot slike meldinger."
_REPLY = "Svar [Bekreft] for å bekrefte eller [Avbestill] om [du] ikke kan komme."
_OPT_OUT = "Svar [Stopp] for å reservere deg mot slike meldinger."

# (type, old default, new default): the defaults of app/templates/defaults.py before and
# at this revision.
_TEXTS: tuple[tuple[str, str, str], ...] = (
    ("general", "Hei [Fornavn]!", "Hei [Mottaker]!"),
    (
        "reminder_1",
        f"Hei [Fornavn]! Du har time hos [Behandler] [Tidspunkt]. {_OLD_REPLY}",
        f"Hei [Mottaker]! Vi minner om at [du] har time hos [Behandler] [Tidspunkt]. {_REPLY}",
    ),
    (
        "reminder_2",
        f"Hei [Fornavn]! Påminnelse om timen din hos [Behandler] [Tidspunkt]. {_OLD_REPLY}",
        f"Hei [Mottaker]! Påminnelse: [du] har time hos [Behandler] [Tidspunkt]. {_REPLY}",
    ),
    (
        "reminder_3",
        f"Hei [Fornavn]! Husk timen din hos [Behandler] [Tidspunkt]. {_OLD_REPLY}",
        f"Hei [Mottaker]! Husk at [du] har time hos [Behandler] [Tidspunkt]. {_REPLY}",
    ),
    (
        "thank_you",
        "Hei [Fornavn]! Takk for besøket hos oss i dag. "
        "Ring oss på [Businessphone] om du har spørsmål.",
        "Hei [Mottaker]! Takk for at [du] var hos oss. "
        "Ring oss på [Businessphone] om du har spørsmål.",
    ),
    (
        "notice",
        "Hei [Fornavn]! Beskjed fra tannklinikken: "
        "Vi ber deg ta kontakt med oss på [Businessphone].",
        "Hei [Mottaker]! Beskjed fra tannklinikken: "
        "Vi ber deg ta kontakt med oss på [Businessphone].",
    ),
    (
        "recall",
        "Hei [Fornavn]! Det er på tide med din årlige tannkontroll. "
        "Ring oss på [Businessphone] eller bestill time på [URL]",
        "Hei [Mottaker]! Det er på tide at [du] kommer til tannkontroll igjen. "
        "Ring oss på [Businessphone] for å bestille time.",
    ),
    (
        "booking_confirmation",
        f"Hei [Fornavn]! Du har fått ny time hos [Behandler] [Tidspunkt]. {_OLD_REPLY}",
        f"Hei [Mottaker]! Nå har [du] fått ny time hos [Behandler] [Tidspunkt]. {_REPLY}",
    ),
    (
        "cancellation_confirmation",
        "Hei [Fornavn]! Timen din [Tidspunkt] er avbestilt. "
        "Ring oss på [Businessphone] for å få ny time.",
        "Hei [Mottaker]! Timen [du] hadde hos [Behandler] [Tidspunkt] er avbestilt. "
        "Ring oss på [Businessphone] for å få ny time.",
    ),
    (
        "marketing",
        f"Hei [Fornavn]! Nyheter og gode tilbud fra tannklinikken: [URL]\n{_OLD_OPT_OUT}",
        f"Hei [Mottaker]! Nyheter og gode tilbud fra tannklinikken: [URL]\n{_OPT_OUT}",
    ),
    (
        "offer",
        f"Hei [Fornavn]! Vi har et eget tilbud til deg som pasient: [URL]\n{_OLD_OPT_OUT}",
        f"Hei [Mottaker]! Vi har et eget tilbud til våre pasienter: [URL]\n{_OPT_OUT}",
    ),
    (
        "mobile_payment",
        "Hei [Fornavn]! Du kan betale for behandlingen din her: [URL]",
        "Hei [Mottaker]! Her kan du betale for behandlingen: [URL]",
    ),
)

_template = sa.table(
    "message_template", sa.column("type", sa.String), sa.column("text", sa.String)
)


def _replace_texts(*, forward: bool) -> None:
    for template_type, old, new in _TEXTS:
        before, after = (old, new) if forward else (new, old)
        op.execute(
            _template.update()
            .where(_template.c.type == template_type, _template.c.text == before)
            .values(text=after)
        )


def upgrade() -> None:
    with op.batch_alter_table("reminder_rules") as batch:
        for number in (2, 3):
            batch.add_column(
                sa.Column(
                    f"reminder_{number}_only_if_unconfirmed",
                    sa.Boolean(),
                    nullable=False,
                    server_default=sa.true(),
                )
            )
    with op.batch_alter_table("appointment") as batch:
        batch.add_column(
            sa.Column("sms_reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_index("ix_message_clinic_sent", "message", ["clinic_id", "sent_at"])
    _replace_texts(forward=True)


def downgrade() -> None:
    _replace_texts(forward=False)
    op.drop_index("ix_message_clinic_sent", table_name="message")
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("sms_reminders")
    with op.batch_alter_table("reminder_rules") as batch:
        for number in (3, 2):
            batch.drop_column(f"reminder_{number}_only_if_unconfirmed")
