"""`message_search` holds each message's searched document, kept by triggers (migration
0026): made with the message, made again when its text or names change, and never written
by the status updates of sending."""

import uuid

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages.listing import searched
from app.messages.models import message_search_table, message_table
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.messages.test_dispatch import send
from tests.patients.test_followups import queue
from tests.support.dispatch import RecordingProvider
from tests.support.dispatch import dispatch_once as dispatch

Copies = dict[uuid.UUID, tuple[str | None, str]]


async def _copies(sessionmaker: async_sessionmaker[AsyncSession]) -> Copies:
    """Each message's copy, beside the document `searched()` reads from the message now."""
    table, copy = message_table.c, message_search_table.c
    statement = select(table.id, copy.document, searched(table)).outerjoin(
        message_search_table, (copy.message_id == table.id) & (copy.clinic_id == table.clinic_id)
    )
    async with sessionmaker() as session:
        return {row[0]: (row[1], row[2]) for row in await session.execute(statement)}


def _in_step(copies: Copies) -> bool:
    return all(document == computed for document, computed in copies.values())


async def test_every_message_gets_the_document_the_search_reads(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001", first_name="ÅSE Marie", last_name="Østby-BERG")
    await queue(client, clinic, clock, text="Hei [Fornavn] [Etternavn]! 50% AV_ALT")
    await send(client, clinic, "+4791234567", text="Ingen NAVN her")
    copies = await _copies(sessionmaker)
    assert len(copies) == 2
    assert _in_step(copies), copies
    assert sorted(document or "" for document, _ in copies.values()) == [
        "  ingen navn her",
        "åse marie østby-berg åse marie østby-berg hei åse marie østby-berg! 50% av_alt",
    ]


async def test_sending_leaves_the_copy_alone_a_new_text_refreshes_it(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A copy set aside by hand survives the claim and the record: their updates did not
    fire the trigger. An update of the text does."""
    message_id = uuid.UUID(await send(client, clinic, "+4791234567", text="Hei"))
    copy = message_search_table.c
    async with sessionmaker.begin() as session:
        await session.execute(update(message_search_table).values(document="set aside"))

    stats = await dispatch(sessionmaker, clock, RecordingProvider())

    assert (stats.claimed, stats.accepted) == (1, 1)
    assert (await _copies(sessionmaker))[message_id][0] == "set aside"
    async with sessionmaker.begin() as session:
        await session.execute(update(message_table).values(text="Ny TEKST"))
        document = await session.scalar(select(copy.document).where(copy.message_id == message_id))
    assert document == "  ny tekst"


async def test_a_rename_and_an_erasure_reach_the_copy(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001", first_name="Kari", last_name="Nordmann")
    await queue(client, clinic, clock, text="Hei [Fornavn]!")
    await put_patient(client, clinic, "1001", first_name="Ingrid", last_name="Nordmann")
    [(renamed, _)] = (await _copies(sessionmaker)).values()
    assert "ingrid" in str(renamed)
    assert "kari" not in str(renamed)

    erased = await client.delete("/v1/patients/1001", headers=clinic.headers)

    assert erased.status_code == 204
    copies = await _copies(sessionmaker)
    assert _in_step(copies), copies
    [(document, _)] = copies.values()
    assert document is not None
    assert "ingrid" not in document
    assert "nordmann" not in document
