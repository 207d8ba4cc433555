"""event-subscription secrets sealed with Fernet

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:10:00.000000

Secrets stored so far in the clear are sealed with the first SECRETS_KEYS key.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app.core import secrets

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_subscriptions = sa.table(
    "event_subscription",
    sa.column("id", sa.Uuid()),
    sa.column("secret", sa.Text()),
    sa.column("previous_secret", sa.Text()),
)


def _transform(change: Callable[[str], str]) -> None:
    connection = op.get_bind()
    table = _subscriptions.c
    rows = connection.execute(sa.select(table.id, table.secret, table.previous_secret)).all()
    for subscription_id, secret, previous in rows:
        connection.execute(
            _subscriptions.update()
            .where(table.id == subscription_id)
            .values(
                secret=change(secret),
                previous_secret=None if previous is None else change(previous),
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("event_subscription") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=100), type_=sa.Text())
        batch.alter_column(
            "previous_secret", existing_type=sa.String(length=100), type_=sa.Text()
        )
    _transform(secrets.seal)


def downgrade() -> None:
    _transform(secrets.unseal)
    with op.batch_alter_table("event_subscription") as batch:
        batch.alter_column("secret", existing_type=sa.Text(), type_=sa.String(length=100))
        batch.alter_column(
            "previous_secret", existing_type=sa.Text(), type_=sa.String(length=100)
        )
