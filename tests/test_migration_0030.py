"""Revision 0030 trades `message_search`'s foreign key for a trigger on `message`: the
copies stay, a deleted message (or clinic) takes its copies with it, and on the way down
the key comes back and does that again."""

import asyncio
import uuid

import sqlalchemy as sa
from alembic import command

from app.cli import alembic_config
from app.core.config import Settings
from app.core.db import create_engine
from tests.test_migration_0018 import _clinic, _run
from tests.test_migration_0026 import NOW, _insert_message, _message, _search


def _foreign_keys(url: str) -> list[str | None]:
    async def read() -> list[str | None]:
        engine = create_engine(Settings(database_url=url))
        async with engine.connect() as connection:
            keys = await connection.run_sync(
                lambda sync: sa.inspect(sync).get_foreign_keys("message_search")
            )
        await engine.dispose()
        return [key["name"] for key in keys]

    return asyncio.run(read())


def _copies(url: str) -> list[sa.Row[tuple[str, str]]]:
    return sorted(_run(url, sa.select(_search.c.clinic_id, _search.c.document)))


def test_copies_stay_deletes_take_theirs_and_down_brings_the_key_back(
    scratch_database_url: str,
) -> None:
    url = scratch_database_url
    config = alembic_config(url)
    command.upgrade(config, "0029")
    kept, gone = uuid.uuid4(), uuid.uuid4()
    for clinic_id in (kept, gone):
        clinic = {"id": clinic_id, "name": "K", "webhook_secret": str(clinic_id), "created_at": NOW}
        _run(url, _clinic.insert().values(clinic))
    _insert_message(url, kept, text="Bor")
    _insert_message(url, gone, text="Borte")

    command.upgrade(config, "0030")
    assert _foreign_keys(url) == []
    assert _copies(url) == sorted([(kept, "  bor"), (gone, "  borte")])
    _insert_message(url, kept, text="Ny")
    _run(url, _message.delete().where(_message.c.text == "Ny"))
    _run(url, _clinic.delete().where(_clinic.c.id == gone))
    assert _copies(url) == [(kept, "  bor")]

    command.downgrade(config, "0029")
    assert _foreign_keys(url) == ["fk_message_search_message_id_message"]
    assert _copies(url) == [(kept, "  bor")]
    _run(url, _message.delete())  # the key's cascade, no trigger left
    assert _copies(url) == []
