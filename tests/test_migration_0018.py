"""Revision 0018 gives a clinic still holding an old default text the new one, leaves texts a
clinic wrote alone, and puts the old ones back on the way down."""

import asyncio
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from app.cli import alembic_config
from app.core.config import Settings
from app.core.db import create_engine
from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType

OLD_THANK_YOU = (
    "Hei [Fornavn]! Takk for besøket hos oss i dag. Ring oss på [Businessphone] om du har spørsmål."
)
OWN_RECALL = "Hei [Fornavn]! Din årlige kontroll venter."

_clinic = sa.table(
    "clinic",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("webhook_secret", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_template = sa.table(
    "message_template",
    sa.column("clinic_id", sa.Uuid()),
    sa.column("type", sa.String()),
    sa.column("text", sa.String()),
    sa.column("allow_reply", sa.Boolean()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _run(url: str, statement: sa.Executable) -> list[sa.Row[tuple[str, str]]]:
    async def run() -> list[sa.Row[tuple[str, str]]]:
        engine = create_engine(Settings(database_url=url))
        async with engine.begin() as connection:
            result = await connection.execute(statement)
            rows = list(result) if result.returns_rows else []
        await engine.dispose()
        return rows

    return asyncio.run(run())


def _texts(url: str) -> dict[str, str]:
    rows = _run(url, sa.select(_template.c.type, _template.c.text))
    return {row.type: row.text for row in rows}


def test_old_defaults_become_the_new_ones(scratch_database_url: str) -> None:
    url = scratch_database_url
    config = alembic_config(url)
    command.upgrade(config, "0012")
    clinic_id, now = uuid.uuid4(), datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    _run(url, _clinic.insert().values(id=clinic_id, name="K", webhook_secret="s", created_at=now))
    rows = [
        {"type": "thank_you", "text": OLD_THANK_YOU},
        {"type": "recall", "text": OWN_RECALL},
    ]
    _run(
        url,
        _template.insert().values(
            [
                row | {"clinic_id": clinic_id, "allow_reply": False, "updated_at": now}
                for row in rows
            ]
        ),
    )
    command.upgrade(config, "0018")
    assert _texts(url) == {
        "thank_you": DEFAULT_TEMPLATES[TemplateType.THANK_YOU].text,
        "recall": OWN_RECALL,
    }
    command.downgrade(config, "0012")
    assert _texts(url) == {"thank_you": OLD_THANK_YOU, "recall": OWN_RECALL}
