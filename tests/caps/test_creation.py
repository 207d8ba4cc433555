"""When a cap already stops a message as it is asked for, the answer says so (skipped,
`cap_reached`) and stores no message; what goes in a later day or month is left to the
worker, which checks again when it goes."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.caps.conftest import (
    NUMBER,
    REMINDER_BODY,
    ask,
    cap_events,
    configure,
    dispatch,
    messages,
    queue,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient


async def test_a_patient_at_the_days_cap_is_skipped_and_nothing_is_stored(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, max_per_patient_per_day=1)
    await put_patient(client, clinic, "1001", mobile=NUMBER)
    await queue(client, clinic, patient_no="1001")
    await dispatch(sessionmaker, clock)
    stored = len(await messages(sessionmaker))
    answer = await ask(client, clinic, patient_no="1001")
    assert answer["data"] == []
    assert answer["skipped"] == [
        {"recipient_role": "patient", "recipient_name": "Kari Nordmann", "reason": "cap_reached"}
    ]
    assert len(await messages(sessionmaker)) == stored
    [event] = await cap_events(sessionmaker)
    assert (event["cap"], event["period"], event["message_id"]) == (
        "max_per_patient_per_day",
        "2026-11-30",
        None,
    )
    await ask(client, clinic)  # the bare number is the same person's phone, but no patient
    assert len(await messages(sessionmaker)) == stored + 1
    await ask(client, clinic, patient_no="1001")
    assert len(await cap_events(sessionmaker)) == 1  # once a day


async def test_tomorrows_message_is_not_known_to_pass_todays_cap(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, max_per_patient_per_day=1, monthly_spend_cap="0.50")
    await queue(client, clinic)
    await dispatch(sessionmaker, clock)
    tomorrow = await ask(client, clinic, send_after="2026-12-01T09:00:00Z")
    assert [m["status"] for m in tomorrow["data"]] == ["pending"]
    today = await ask(client, clinic, "+4791234599")
    assert [skip["reason"] for skip in today["skipped"]] == ["cap_reached"]


async def test_a_bulk_send_is_cut_where_the_spend_cap_is(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await configure(client, clinic, monthly_spend_cap="1.00")
    for n in range(3):
        await put_patient(client, clinic, f"100{n}", mobile=f"+479123450{n}")
    response = await client.post(
        "/v1/messages/bulk",
        headers=clinic.headers,
        json={"patient_nos": ["1000", "1001", "1002"], "text": "Hei"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["queued"], body["skipped"]) == (2, 1)
    assert body["outcomes"][2] == {
        "patient_no": "1002",
        "outcome": "skipped",
        "reason": "cap_reached",
        "message_ids": [],
        "messages": None,
    }
    assert len(await messages(sessionmaker)) == 2
    [event] = await cap_events(sessionmaker)
    assert (event["cap"], event["period"]) == ("monthly_spend_cap", "2026-11")


async def test_service_messages_asked_for_are_exempt_too(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, max_per_patient_per_day=1)
    await queue(client, clinic)
    await dispatch(sessionmaker, clock)
    reminder = REMINDER_BODY | {"template_type": "booking_confirmation"}
    assert len((await ask(client, clinic, **reminder))["data"]) == 1
    await client.patch("/v1/settings", headers=clinic.headers, json={"cap_exempts_service": False})
    assert [s["reason"] for s in (await ask(client, clinic, **reminder))["skipped"]] == [
        "cap_reached"
    ]
