"""Stored secrets under a rotated key: every sealed column, read and written as tokens."""

from sqlalchemy import TableClause, Text, column, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import secrets

# Each table with sealed columns, seen as plain text so the tokens are not opened.
_SEALED: list[tuple[TableClause, str, str]] = [
    (
        table("clinic_settings", column("clinic_id"), column("provider_credentials", Text)),
        "clinic_id",
        "provider_credentials",
    ),
    *(
        (table("event_subscription", column("id"), column(sealed, Text)), "id", sealed)
        for sealed in ("secret", "previous_secret")
    ),
]


async def reseal_stored_secrets(session: AsyncSession) -> int:
    count = 0
    for sealed_table, key, sealed in _SEALED:
        rows = await session.execute(select(sealed_table.c[key], sealed_table.c[sealed]))
        for row_key, token in rows.all():
            if token is None:
                continue
            await session.execute(
                update(sealed_table)
                .where(sealed_table.c[key] == row_key)
                .values({sealed: secrets.reseal(token)})
            )
            count += 1
    return count
