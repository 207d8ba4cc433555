"""Revision 0026 copies every message's searched document into `message_search` and keeps
it by triggers; on the way down the table and its triggers go (and on PostgreSQL the
trigram index on `message` comes back)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command

from app.cli import alembic_config
from tests.test_migration_0018 import _clinic, _run

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
_message = sa.table(
    "message",
    *(sa.column(name, sa.Uuid()) for name in ("id", "clinic_id")),
    *(sa.column(name, sa.String()) for name in ("patient_name", "recipient_name", "text")),
    *(sa.column(name, sa.String()) for name in ("recipient_role", "type", "encoding")),
    *(sa.column(name, sa.String()) for name in ("currency", "status", "send_kind")),
    sa.column("segments", sa.Integer()),
    sa.column("attempts", sa.Integer()),
    sa.column("cost", sa.Numeric()),
    sa.column("allow_reply", sa.Boolean()),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("send_after", "next_attempt_at")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("expires_at", "created_at")),
)
_search = sa.table(
    "message_search", sa.column("clinic_id", sa.Uuid()), sa.column("document", sa.String())
)


def _insert_message(url: str, clinic_id: uuid.UUID, **names: str | None) -> None:
    row = {
        "id": uuid.uuid4(),
        "clinic_id": clinic_id,
        "recipient_role": "patient",
        "type": "free_text",
        "encoding": "GSM7",
        "currency": "NOK",
        "status": "sent",
        "send_kind": "now",
        "segments": 1,
        "attempts": 1,
        "cost": Decimal("0.45"),
        "allow_reply": False,
        **dict.fromkeys(("send_after", "next_attempt_at", "expires_at", "created_at"), NOW),
    }
    _run(url, _message.insert().values(row | names))


def _indexes(url: str) -> set[str]:
    query = sa.text(
        "SELECT indexname FROM pg_indexes WHERE tablename IN ('message', 'message_search')"
    )
    return {row[0] for row in _run(url, query)}


def test_existing_messages_are_copied_new_ones_follow_and_down_undoes_it(
    scratch_database_url: str,
) -> None:
    url = scratch_database_url
    postgresql = url.startswith("postgresql")
    config = alembic_config(url)
    command.upgrade(config, "0025")
    clinic_id = uuid.uuid4()
    _run(url, _clinic.insert().values(id=clinic_id, name="K", webhook_secret="s", created_at=NOW))
    _insert_message(url, clinic_id, patient_name="Kari NORDMANN", recipient_name="Ola", text="Hei")
    _insert_message(url, clinic_id, patient_name=None, recipient_name=None, text=None)

    command.upgrade(config, "0026")
    _insert_message(url, clinic_id, patient_name=None, recipient_name=None, text="Ny")
    copies = _run(url, sa.select(_search.c.clinic_id, _search.c.document))
    assert sorted(copies) == [
        (clinic_id, "  "),
        (clinic_id, "  ny"),
        (clinic_id, "kari nordmann ola hei"),
    ]
    if postgresql:
        assert "ix_message_search_document" in _indexes(url)
        assert "ix_message_clinic_search" not in _indexes(url)

    command.downgrade(config, "0025")
    _insert_message(url, clinic_id, text="Uten kopi")  # no trigger left to fail on
    assert _run(url, sa.select(sa.func.count()).select_from(_message)) == [(4,)]
    if postgresql:
        assert "ix_message_clinic_search" in _indexes(url)
        assert "ix_message_search_document" not in _indexes(url)
    with pytest.raises(sa.exc.DBAPIError):
        _run(url, sa.select(_search.c.document))
