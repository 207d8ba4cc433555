"""provider credentials sealed with Fernet

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

Credentials stored so far in the clear are sealed with the first SECRETS_KEYS key. A
database that holds credentials cannot be upgraded without SECRETS_KEYS.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core import secrets

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_settings = sa.table(
    "clinic_settings",
    sa.column("clinic_id", sa.Uuid()),
    sa.column("provider_credentials", sa.JSON()),
    sa.column("sealed_credentials", sa.Text()),
)


def upgrade() -> None:
    op.add_column("clinic_settings", sa.Column("sealed_credentials", sa.Text(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_settings.c.clinic_id, _settings.c.provider_credentials))
    for clinic_id, credentials in rows.all():
        sealed = secrets.seal(json.dumps(credentials or {}, separators=(",", ":")))
        connection.execute(
            _settings.update()
            .where(_settings.c.clinic_id == clinic_id)
            .values(sealed_credentials=sealed)
        )
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("provider_credentials")
        batch.alter_column(
            "sealed_credentials",
            new_column_name="provider_credentials",
            existing_type=sa.Text(),
            nullable=False,
        )


def downgrade() -> None:
    op.add_column("clinic_settings", sa.Column("open_credentials", sa.JSON(), nullable=True))
    opened = sa.table(
        "clinic_settings",
        sa.column("clinic_id", sa.Uuid()),
        sa.column("provider_credentials", sa.Text()),
        sa.column("open_credentials", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(opened.c.clinic_id, opened.c.provider_credentials))
    for clinic_id, token in rows.all():
        connection.execute(
            opened.update()
            .where(opened.c.clinic_id == clinic_id)
            .values(open_credentials=json.loads(secrets.unseal(token)))
        )
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("provider_credentials")
        batch.alter_column(
            "open_credentials",
            new_column_name="provider_credentials",
            existing_type=sa.JSON(),
            nullable=False,
        )
