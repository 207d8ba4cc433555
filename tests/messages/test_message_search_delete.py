"""A deleted message takes its `message_search` copy with it (migration 0030: a trigger on
`message`, not a foreign key), whether it is deleted itself, in a bulk delete, or by the
deletion of its clinic; the other messages' copies stay."""

import uuid

import httpx
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clinics.models import Clinic
from app.messages.models import message_search_table, message_table
from tests.conftest import ClinicAccess
from tests.messages.test_dispatch import send


async def _copies(sessionmaker: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessionmaker() as session:
        return set((await session.execute(select(message_search_table.c.message_id))).scalars())


async def _sent(client: httpx.AsyncClient, clinic: ClinicAccess, count: int) -> list[uuid.UUID]:
    return [uuid.UUID(await send(client, clinic, "+4791234567")) for _ in range(count)]


async def test_a_deleted_message_takes_its_copy(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, *kept = await _sent(client, clinic, 3)
    others = await _sent(client, other_clinic, 1)
    assert await _copies(sessionmaker) == {first, *kept, *others}

    async with sessionmaker.begin() as session:
        await session.execute(delete(message_table).where(message_table.c.id == first))
    assert await _copies(sessionmaker) == {*kept, *others}

    async with sessionmaker.begin() as session:  # several in one statement
        await session.execute(delete(message_table).where(message_table.c.id.in_(kept)))
    assert await _copies(sessionmaker) == set(others)


async def test_a_deleted_clinic_takes_its_messages_copies(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _sent(client, clinic, 3)
    others = await _sent(client, other_clinic, 2)

    async with sessionmaker.begin() as session:
        await session.execute(delete(Clinic).where(col(Clinic.id) == clinic.id))

    async with sessionmaker() as session:
        left = (await session.execute(select(message_table.c.id))).scalars().all()
    assert set(left) == set(others)
    assert await _copies(sessionmaker) == set(others)


async def test_a_truncated_message_table_empties_the_copies(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    await _sent(client, clinic, 2)

    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE message CASCADE"))
    assert await _copies(sessionmaker) == set()
