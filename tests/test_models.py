"""The model helpers of app.core.models."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clinics.models import Clinic
from app.core.models import new_id

# A fresh interpreter: the suite's own process configured the mappers long ago.
_FIRST_USE = """
import uuid
from app.clinics.models import Clinic
from app.core.models import as_loaded
clinic = as_loaded(Clinic, {"id": uuid.UUID(int=1), "name": "Tannlege Berg"})
print(clinic.id, clinic.name)
"""


def test_as_loaded_works_as_a_process_first_use_of_the_models() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_USE], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["00000000-0000-0000-0000-000000000001", "Tannlege", "Berg"]


_STORED_AT = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Oslo"))


async def test_a_stored_time_is_read_as_aware_utc_on_either_database(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """On PostgreSQL asyncpg's own reading is kept (no processor); SQLite's naive value
    gets UTC back."""
    clinic_id = uuid.uuid4()
    async with sessionmaker.begin() as session:
        secret = clinic_id.hex
        session.add(Clinic(id=clinic_id, name="Berg", webhook_secret=secret, created_at=_STORED_AT))
    async with sessionmaker() as session:
        read = await session.scalar(select(Clinic.created_at).where(Clinic.id == clinic_id))
    assert read == _STORED_AT
    assert read is not None
    assert read.tzinfo == UTC


def test_new_ids_are_random_version_4_ids_none_twice() -> None:
    ids = [new_id() for _ in range(3000)]  # past several refills of the stock
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}


def test_a_forked_process_draws_other_ids_than_its_parent() -> None:
    """The stock of randomness is not inherited: a worker forked from a process that drew
    ids must not hand out the ones its parent hands out next."""
    new_id()  # the parent's stock is filled
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        os.write(writing, new_id().bytes)
        os._exit(0)
    os.waitpid(child, 0)
    drawn_by_child = uuid.UUID(bytes=os.read(reading, 16))
    os.close(reading)
    os.close(writing)
    assert drawn_by_child != new_id()
