"""Automatic messages meet the caps where they go: the worker holds back a recall that would
pass a cap, and the recall shows why; an appointment's confirmation is held back only
while service messages are not exempt."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.appointments.conftest import put_appointment, put_rules, send_due
from tests.caps.conftest import cap_events, configure, messages, queue
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.recalls.conftest import (  # noqa: F401  (recall_rule: a fixture)
    FIRST_SEND,
    due_patient,
    message,
    plan,
    recall_of,
    recall_rule,
)


@pytest.mark.usefixtures("recall_rule")
async def test_a_recall_past_the_spend_cap_is_held_and_the_recall_says_so(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.patch("/v1/settings", headers=clinic.headers, json={"price_per_segment": "0.50"})
    await due_patient(client, clinic)
    clock.set(FIRST_SEND - timedelta(hours=2))
    assert (await plan(sessionmaker, clinic, clock)).made == 1
    made = await recall_of(client, clinic, "1001")
    await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"monthly_spend_cap": "0.10"},
    )
    clock.set(FIRST_SEND)
    assert (await send_due(sessionmaker, clock)).sent == []
    held = await message(sessionmaker, made["message_id"])
    assert (held.status, held.failure_reason) == ("cancelled", "cap_reached")
    recall = await recall_of(client, clinic, "1001")
    assert (recall["state"], recall["skip_reason"]) == ("skipped", "cap_reached")
    assert await cap_events(sessionmaker) == []  # no subscription: nothing to tell


async def test_a_booking_confirmation_goes_past_the_daily_cap_only_while_exempt(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await configure(client, clinic, max_per_patient_per_day=1)
    await put_patient(client, clinic, "1001", wants_sms=True)
    await queue(client, clinic, patient_no="1001")
    await send_due(sessionmaker, clock)
    await put_rules(client, clinic, booking_confirmation=True)
    start = clock.now() + timedelta(days=3)
    await put_appointment(client, clinic, "A1", start=start)
    assert len((await send_due(sessionmaker, clock)).sent) == 1
    await client.patch("/v1/settings", headers=clinic.headers, json={"cap_exempts_service": False})
    await put_appointment(client, clinic, "A2", start=start + timedelta(hours=2))
    assert (await send_due(sessionmaker, clock)).sent == []
    confirmations = [
        (m.appointment_id, m.status, m.failure_reason)
        for m in await messages(sessionmaker)
        if m.type == "booking_confirmation"
    ]
    assert sorted(confirmations) == [("A1", "sent", None), ("A2", "cancelled", "cap_reached")]
