"""The worker does not send a message that would pass a cap: it is cancelled with the reason
`cap_reached`, and the practice system hears of the cap once per period. (Each message
here is asked for before its cap is reached, so the worker is what holds it back.)"""

from datetime import UTC, datetime

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
    message,
    messages,
    queue,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

OTHERS = [f"+4791234{n:03d}" for n in range(10)]
REMINDER = REMINDER_BODY


async def caps(client: httpx.AsyncClient, clinic: ClinicAccess, **fields: object) -> None:
    response = await client.patch("/v1/settings", headers=clinic.headers, json=fields)
    assert response.status_code == 200, response.text


async def test_the_fourth_message_of_the_day_to_a_patient_is_held_back(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic)
    for _ in range(4):
        await queue(client, clinic)
    other = await queue(client, clinic, OTHERS[0])
    provider = await dispatch(sessionmaker, clock)
    assert sorted(sms.to for sms in provider.sent) == sorted([NUMBER] * 3 + [OTHERS[0]])
    held = [m for m in await messages(sessionmaker) if m.status == "cancelled"]
    assert len(held) == 1
    assert held[0].to_number == NUMBER
    assert held[0].failure_reason == "cap_reached"
    assert held[0].failure_detail == "max_per_patient_per_day 3 reached for 2026-11-30"
    assert held[0].attempts == 0
    assert held[0].cancelled_at == clock.now()
    assert (await message(sessionmaker, other)).status == "sent"
    [event] = await cap_events(sessionmaker)
    assert event == {
        "cap": "max_per_patient_per_day",
        "period": "2026-11-30",
        "limit": "3",
        "currency": None,
        "message_id": str(held[0].id),
        "at": "2026-11-30T10:00:00Z",
    }


async def test_without_a_daily_cap_a_patient_gets_them_all(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, max_per_patient_per_day=None)
    for _ in range(5):
        await queue(client, clinic)
    assert len((await dispatch(sessionmaker, clock)).sent) == 5
    assert await cap_events(sessionmaker) == []


async def test_a_patients_day_is_the_clinics_day(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, max_per_patient_per_day=1)
    clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 in Oslo
    first = await queue(client, clinic)
    same_day = await queue(client, clinic, send_after="2026-11-30T22:59:00Z")
    next_day = await queue(client, clinic, send_after="2026-11-30T23:00:00Z")
    await dispatch(sessionmaker, clock)
    assert (await message(sessionmaker, first)).status == "sent"
    clock.set(datetime(2026, 11, 30, 22, 59, tzinfo=UTC))  # 23:59: still 30 November
    await dispatch(sessionmaker, clock)
    assert (await message(sessionmaker, same_day)).failure_reason == "cap_reached"
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))  # 00:00 on 1 December in Oslo
    await dispatch(sessionmaker, clock)
    assert (await message(sessionmaker, next_day)).status == "sent"
    assert [event["period"] for event in await cap_events(sessionmaker)] == ["2026-11-30"]


async def test_a_message_that_would_pass_the_monthly_cap_is_held_and_told_once(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic)
    ids = [await queue(client, clinic, number) for number in OTHERS[:3]]
    later = await queue(client, clinic, OTHERS[3], send_after="2026-11-30T11:00:00Z")
    await caps(client, clinic, monthly_spend_cap="1.00")
    provider = await dispatch(sessionmaker, clock)
    assert len(provider.sent) == 2
    [held] = [m for m in await messages(sessionmaker) if m.status == "cancelled"]
    assert str(held.id) in ids
    assert held.failure_detail == "monthly_spend_cap 1.00 NOK reached for 2026-11"
    clock.set(datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    await dispatch(sessionmaker, clock)
    assert (await message(sessionmaker, later)).failure_reason == "cap_reached"
    [event] = await cap_events(sessionmaker)
    assert event == {
        "cap": "monthly_spend_cap",
        "period": "2026-11",
        "limit": "1.00",
        "currency": "NOK",
        "message_id": str(held.id),
        "at": "2026-11-30T10:00:00Z",
    }


async def test_the_month_starts_again_at_midnight_in_the_clinics_time_zone(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, monthly_spend_cap="0.50")
    clock.set(datetime(2026, 11, 30, 22, 0, tzinfo=UTC))  # 23:00 on 30 November in Oslo
    await queue(client, clinic, OTHERS[0])
    november = await queue(client, clinic, OTHERS[1], send_after="2026-11-30T22:59:00Z")
    december = [
        await queue(client, clinic, number, send_after="2026-11-30T23:00:00Z")
        for number in OTHERS[2:4]
    ]
    await dispatch(sessionmaker, clock)
    clock.set(datetime(2026, 11, 30, 22, 59, tzinfo=UTC))
    await dispatch(sessionmaker, clock)
    assert (await message(sessionmaker, november)).failure_reason == "cap_reached"
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))  # 00:00 on 1 December
    await dispatch(sessionmaker, clock)
    statuses = sorted([(await message(sessionmaker, m)).status for m in december])
    assert statuses == ["cancelled", "sent"]
    assert [event["period"] for event in await cap_events(sessionmaker)] == ["2026-11", "2026-12"]


async def test_service_messages_are_exempt_while_the_clinic_says_so(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic)
    general = await queue(client, clinic)
    reminder = await queue(client, clinic, **REMINDER)
    later = await queue(client, clinic, OTHERS[0], send_after="2026-11-30T11:00:00Z", **REMINDER)
    await caps(client, clinic, monthly_spend_cap="0.50", max_per_patient_per_day=1)
    await dispatch(sessionmaker, clock)
    # The reminder goes first and uses the day's one message and the month's 0.50.
    assert (await message(sessionmaker, reminder)).status == "sent"
    assert (await message(sessionmaker, general)).failure_reason == "cap_reached"
    await caps(client, clinic, cap_exempts_service=False)
    clock.set(datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    await dispatch(sessionmaker, clock)
    held = await message(sessionmaker, later)
    assert (held.status, held.failure_reason) == ("cancelled", "cap_reached")
    assert held.failure_detail == "monthly_spend_cap 0.50 NOK reached for 2026-11"


async def test_marketing_and_offers_are_never_exempt(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    reply_number: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic)
    await put_patient(client, clinic, "1001", marketing_consent=True)
    await put_patient(client, clinic, "1002", mobile=OTHERS[0], marketing_consent=True)
    held = []
    for patient_no, kind in (("1001", "offer"), ("1002", "marketing")):
        answer = await ask(
            client, clinic, patient_no=patient_no, template_type=kind, merge_values={"URL": "x"}
        )
        held.append(answer["data"][0]["id"])
    await caps(client, clinic, monthly_spend_cap="0.10")
    assert (await dispatch(sessionmaker, clock)).sent == []
    for message_id in held:
        found = await message(sessionmaker, message_id)
        assert (found.status, found.failure_reason) == ("cancelled", "cap_reached")
