"""patient marketing consent

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.add_column(
            sa.Column("marketing_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("marketing_consent_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("marketing_consent_at")
        batch.drop_column("marketing_consent")
