"""Pending work follows the patient: numbers, consent and guardians (DESIGN §5)."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.messages.models import Message
from tests.appointments.conftest import (
    messages_of,
    patch_settings,
    put_appointment,
    put_rules,
    send_due,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

GUARDIAN = {"name": "Ola Nordmann", "mobile": "+4741234567", "wants_sms": True}


async def queue(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock, **body: Any
) -> list[dict[str, Any]]:
    later = (clock.now() + timedelta(days=3)).isoformat()
    body = {"patient_no": "1001", "text": "Hei [Fornavn]", "send_after": later} | body
    response = await client.post("/v1/messages", headers=clinic.headers, json=body)
    assert response.status_code == 201, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def message(client: httpx.AsyncClient, clinic: ClinicAccess, message_id: str) -> Any:
    response = await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_new_number_readdresses_pending_messages_but_not_one_being_sent(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001", mobile="+4792000091")
    first, second = [(await queue(client, clinic, clock))[0]["id"] for _ in range(2)]
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Message).where(col(Message.id) == uuid.UUID(second)).values(status="sending")
        )

    await put_patient(client, clinic, "1001", mobile="+4792000092")

    moved = await message(client, clinic, first)
    assert (moved["to"], moved["status"]) == ("+4792000092", "pending")
    untouched = await message(client, clinic, second)
    assert (untouched["to"], untouched["status"]) == ("+4792000091", "sending")


async def test_a_new_number_that_cannot_take_sms_fails_the_messages(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001")
    [queued] = await queue(client, clinic, clock)

    await put_patient(client, clinic, "1001", mobile="22 33 44 55")  # a landline

    failed = await message(client, clinic, queued["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "invalid_number")
    assert failed["to"] == "+4791234567"


async def test_a_removed_number_cancels_the_messages_with_the_reason(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001")
    [queued] = await queue(client, clinic, clock)
    other = await put_patient(client, clinic, "1002", mobile="+4792000093")
    [kept] = await queue(client, clinic, clock, patient_no=other["patient_no"])

    await put_patient(client, clinic, "1001", mobile=None)

    cancelled = await message(client, clinic, queued["id"])
    assert (cancelled["status"], cancelled["failure_reason"]) == ("cancelled", "no_mobile")
    assert cancelled["cancelled_at"] is not None
    assert (await message(client, clinic, kept["id"]))["status"] == "pending"


@pytest.mark.usefixtures("reply_number")
async def test_consent_withdrawn_cancels_what_the_policy_no_longer_allows(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001", wants_sms=True, marketing_consent=True)
    [service] = await queue(client, clinic, clock)
    [offer] = await queue(
        client,
        clinic,
        clock,
        text=None,
        template_type="offer",
        merge_values={"URL": "https://x.no/t"},
    )

    await put_patient(client, clinic, "1001", wants_sms=False, marketing_consent=False)

    assert (await message(client, clinic, service["id"]))["status"] == "pending"
    withdrawn = await message(client, clinic, offer["id"])
    assert (withdrawn["status"], withdrawn["failure_reason"]) == (
        "cancelled",
        "no_marketing_consent",
    )

    await patch_settings(client, clinic, reminder_policy="opted_in_only")
    await put_patient(client, clinic, "1001", wants_sms=True)
    [service] = await queue(client, clinic, clock)
    await put_patient(client, clinic, "1001", wants_sms=False)
    withdrawn = await message(client, clinic, service["id"])
    assert (withdrawn["status"], withdrawn["failure_reason"]) == ("cancelled", "no_consent")


async def test_guardians_follow_by_name_and_their_consent(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001", guardians=[GUARDIAN])
    patient, guardian = await queue(client, clinic, clock, include_guardians=True)
    assert guardian["recipient_role"] == "guardian"

    await put_patient(client, clinic, "1001", guardians=[GUARDIAN | {"mobile": "+4741234568"}])
    assert (await message(client, clinic, guardian["id"]))["to"] == "+4741234568"

    await put_patient(
        client, clinic, "1001", guardians=[GUARDIAN | {"mobile": "+4741234568", "wants_sms": False}]
    )
    withdrawn = await message(client, clinic, guardian["id"])
    assert (withdrawn["status"], withdrawn["failure_reason"]) == ("cancelled", "no_consent")
    assert (await message(client, clinic, patient["id"]))["status"] == "pending"


async def test_a_removed_guardian_gets_nothing(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_patient(client, clinic, "1001", guardians=[GUARDIAN])
    _, guardian = await queue(client, clinic, clock, include_guardians=True)

    await put_patient(client, clinic, "1001", guardians=[])

    removed = await message(client, clinic, guardian["id"])
    assert (removed["status"], removed["failure_reason"]) == ("cancelled", "no_mobile")


async def test_a_number_added_schedules_the_skipped_reminders(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_rules(client, clinic, booking_confirmation=True)
    await put_patient(client, clinic, "1001", mobile=None)
    await put_appointment(client, clinic, "A-1", start=clock.now() + timedelta(days=5))
    assert await messages_of(client, clinic, "A-1") == []

    await put_patient(client, clinic, "1001", mobile="+4792000094")

    made = await messages_of(client, clinic, "A-1")
    assert {m["type"] for m in made} == {"reminder_1", "booking_confirmation"}
    assert {m["to"] for m in made} == {"+4792000094"}
    assert all(m["status"] == "pending" for m in made)


async def test_readdressing_a_thousand_messages_is_one_statement(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
) -> None:
    await put_patient(client, clinic, "1001")
    bulk = {"patient_nos": ["1001"], "text": "Hei", "send_after": clock.now().isoformat()}
    for _ in range(20):
        response = await client.post("/v1/messages/bulk", headers=clinic.headers, json=bulk)
        assert response.status_code == 200, response.text
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE message SET") and "to_number=" in statement:
            updates.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        await put_patient(client, clinic, "1001", mobile="+4792000095")
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(updates) == 1
    response = await client.get("/v1/messages", headers=clinic.headers, params={"limit": 500})
    assert {m["to"] for m in response.json()["data"]} == {"+4792000095"}


async def test_the_worker_never_sends_to_a_number_the_patient_no_longer_has(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await put_patient(client, clinic, "1001")
    [queued] = await queue(client, clinic, clock, send_after=clock.now().isoformat())
    async with sessionmaker.begin() as session:  # as if a change had missed it
        await session.execute(
            update(Message)
            .where(col(Message.id) == uuid.UUID(queued["id"]))
            .values(to_number="+4792000096")
        )

    provider = await send_due(sessionmaker, clock)

    assert provider.sent == []
    failed = await message(client, clinic, queued["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "number_changed")


async def test_a_message_made_while_the_number_changed_is_not_sent(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """PostgreSQL, two sessions: a message written from the old number commits after the
    patient update re-addressed the patient's messages; the claim catches it."""
    await put_patient(client, clinic, "1001")
    [template] = await queue(client, clinic, clock, send_after=clock.now().isoformat())
    async with sessionmaker() as maker:
        if maker.get_bind().dialect.name != "postgresql":
            pytest.skip("two concurrent writers need PostgreSQL")
        await maker.begin()
        row = await maker.get(Message, uuid.UUID(template["id"]))
        assert row is not None
        copy = {c: getattr(row, c) for c in Message.model_fields if c != "id"}
        maker.add(Message(**copy))
        await maker.flush()  # written from the old number, not committed yet
        await put_patient(client, clinic, "1001", mobile="+4792000097")  # commits meanwhile
        await maker.commit()

    provider = await send_due(sessionmaker, clock)

    assert [sms.to for sms in provider.sent] == ["+4792000097"]
    response = await client.get("/v1/messages", headers=clinic.headers, params={"limit": 10})
    reasons = sorted(str(m["failure_reason"]) for m in response.json()["data"])
    assert reasons == ["None", "number_changed"]
