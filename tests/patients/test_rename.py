"""A renamed patient's pending texts are rendered again, segments and cost too (DESIGN §5)."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.messages.models import Message
from tests.appointments.conftest import messages_of, patch_settings, put_appointment
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import recorded, subscribe
from tests.messages.conftest import put_patient
from tests.patients.test_followups import GUARDIAN, message, queue

FILLER = "x" * 80  # with a GSM-7 name one segment; with a UCS-2 name two


async def test_pending_texts_take_the_new_name_with_their_segments_and_cost(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await patch_settings(client, clinic, price_per_segment="0.45")
    await put_patient(client, clinic, "1001", guardians=[GUARDIAN])
    text = f"Hei [Fornavn] [Etternavn]! {FILLER}"
    patient, guardian = await queue(client, clinic, clock, text=text, include_guardians=True)
    assert (patient["encoding"], patient["segments"], patient["cost"]["amount"]) == (
        "GSM-7",
        1,
        "0.45",
    )
    [nameless] = await queue(client, clinic, clock, text="Hei! Husk tannbørsten.")
    [being_sent] = await queue(client, clinic, clock, text=text)
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Message)
            .where(col(Message.id) == uuid.UUID(being_sent["id"]))
            .values(status="sending")
        )

    await put_patient(client, clinic, "1001", first_name="Zoë", guardians=[GUARDIAN])

    renamed = await message(client, clinic, patient["id"])
    assert renamed["text"] == f"Hei Zoë Nordmann! {FILLER}"
    assert (renamed["encoding"], renamed["segments"], renamed["cost"]["amount"]) == (
        "UCS-2",
        2,
        "0.90",
    )
    assert (renamed["patient_name"], renamed["recipient_name"]) == ("Zoë Nordmann",) * 2
    to_guardian = await message(client, clinic, guardian["id"])
    assert to_guardian["text"] == renamed["text"]  # [Fornavn] is the patient's name
    assert (to_guardian["patient_name"], to_guardian["recipient_name"]) == (
        "Zoë Nordmann",
        GUARDIAN["name"],
    )
    assert (await message(client, clinic, nameless["id"]))["text"] == "Hei! Husk tannbørsten."
    untouched = await message(client, clinic, being_sent["id"])
    assert (untouched["text"], untouched["patient_name"]) == (
        f"Hei Kari Nordmann! {FILLER}",
        "Kari Nordmann",
    )


async def test_a_text_now_over_the_cap_fails_as_too_long_with_an_event(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await patch_settings(client, clinic, max_segments=1)
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001")
    [long] = await queue(client, clinic, clock, text=f"Hei [Fornavn]! {'x' * 140}")
    [short] = await queue(client, clinic, clock, text="Hei [Fornavn]!")

    await put_patient(client, clinic, "1001", first_name="Anne-Marie Kristine Sofie")

    failed = await message(client, clinic, long["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "too_long")
    assert failed["text"] == f"Hei Kari! {'x' * 140}"  # the text that was valid, kept
    kept = await message(client, clinic, short["id"])
    assert (kept["status"], kept["text"]) == ("pending", "Hei Anne-Marie Kristine Sofie!")
    events = [delivery.data for delivery in await recorded(sessionmaker)]
    assert [(e["message_id"], e["status"], e["failure_reason"]) for e in events] == [
        (long["id"], "failed", "too_long")
    ]


async def test_appointment_reminders_take_the_new_name(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001")
    await put_appointment(client, clinic, "A-1", start=clock.now() + timedelta(days=5))
    [reminder] = await messages_of(client, clinic, "A-1")
    assert reminder["text"].startswith("Hei Kari!")

    await put_patient(client, clinic, "1001", first_name="Kaja")

    [renamed] = await messages_of(client, clinic, "A-1")
    assert renamed["text"] == reminder["text"].replace("Hei Kari!", "Hei Kaja!")


async def test_a_bare_number_keeps_no_source_and_an_unchanged_name_renders_nothing(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001")
    later = (clock.now() + timedelta(days=1)).isoformat()
    bare = await client.post(
        "/v1/messages",
        headers=clinic.headers,
        json={"to": "+4791234560", "text": "Hei!", "send_after": later},
    )
    assert bare.status_code == 201, bare.text
    async with sessionmaker() as session:
        stored = await session.get(Message, uuid.UUID(bare.json()["data"][0]["id"]))
        assert stored is not None
        assert stored.text_source is None
    [queued] = await queue(client, clinic, clock)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        await put_patient(client, clinic, "1001", wants_sms=True)  # not a new name
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "text_source" in s]
    assert (await message(client, clinic, queued["id"]))["text"] == "Hei Kari"


async def test_rendering_a_hundred_texts_again_is_a_few_statements(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001")
    bulk = {
        "patient_nos": ["1001"],
        "text": "Hei [Fornavn]",
        "send_after": (clock.now() + timedelta(days=1)).isoformat(),
    }
    for _ in range(100):
        response = await client.post("/v1/messages/bulk", headers=clinic.headers, json=bulk)
        assert response.status_code == 200, response.text
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if " message" in statement and "event" not in statement:
            statements.append(statement.split(" ", 1)[0])

    event.listen(Engine, "before_cursor_execute", count)
    try:
        await put_patient(client, clinic, "1001", first_name="Kaja")
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert statements.count("UPDATE") == 2  # the names, then the texts
    response = await client.get("/v1/messages", headers=clinic.headers, params={"limit": 500})
    assert {m["text"] for m in response.json()["data"]} == {"Hei Kaja"}


async def test_a_text_rendered_again_is_smart_encoded_like_the_first(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001")
    [queued] = await queue(client, clinic, clock, text=f"Hei [Fornavn] – husk timen! {FILLER}")
    assert (queued["text"], queued["encoding"], queued["segments"]) == (
        f"Hei Kari - husk timen! {FILLER}",
        "GSM-7",
        1,
    )

    await put_patient(client, clinic, "1001", first_name="Kaja")

    renamed = await message(client, clinic, queued["id"])
    assert (renamed["text"], renamed["encoding"], renamed["segments"]) == (
        f"Hei Kaja - husk timen! {FILLER}",
        "GSM-7",
        1,
    )


async def test_a_new_name_the_provider_cannot_carry_fails_the_text_with_an_event(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await patch_settings(client, clinic, provider="linkmobility")  # LINK carries no emoji
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001")
    [queued] = await queue(client, clinic, clock, text="Hei [Fornavn]!")

    await put_patient(client, clinic, "1001", first_name="Kari 🦷")

    failed = await message(client, clinic, queued["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "unsupported_characters")
    assert failed["text"] == "Hei Kari!"  # the text that could go, kept
    events = [delivery.data for delivery in await recorded(sessionmaker)]
    assert [(e["message_id"], e["status"], e["failure_reason"]) for e in events] == [
        (queued["id"], "failed", "unsupported_characters")
    ]
