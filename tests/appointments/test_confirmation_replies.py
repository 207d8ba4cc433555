"""JA/NEI by SMS confirms an appointment or asks to cancel it, and tells the practice system."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.appointments.models import Appointment
from app.core.clock import FixedClock
from app.events.models import EventDelivery
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.replies.test_inbound import reply
from tests.webhooks.helpers import NUMBER, sent_message


async def book(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    hours_ahead: int = 48,
    patient_no: str = "1001",
    status: str = "booked",
) -> dict[str, Any]:
    start = clock.now() + timedelta(hours=hours_ahead)
    response = await client.put(
        "/v1/appointments/A-1",
        headers=clinic.headers,
        json={
            "patient_no": patient_no,
            "practitioner": "Tannlege Hansen",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "status": status,
        },
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def appointment(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/appointments/A-1", headers=clinic.headers)).json()
    return body


@pytest.fixture
async def reminded(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> str:
    await put_patient(client, clinic, "1001", mobile=NUMBER, wants_sms=True)
    await client.post(
        "/v1/event-subscriptions",
        headers=clinic.headers,
        json={
            "url": "http://127.0.0.1:9/pms",
            "event_types": ["appointment.confirmed", "appointment.cancellation_requested"],
        },
    )
    await book(client, clinic, clock)
    return await sent_message(
        client,
        clinic,
        sessionmaker,
        clock,
        to=None,
        text=None,
        patient_no="1001",
        template_type="reminder_1",
        appointment_id="A-1",
    )


@pytest.mark.parametrize(
    ("answer", "confirmation", "event"),
    [
        ("Ja takk", "confirmed", "appointment.confirmed"),
        ("nei", "cancellation_requested", "appointment.cancellation_requested"),
    ],
)
async def test_an_answer_to_a_reminder_reaches_the_appointment(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    reminded: str,
    answer: str,
    confirmation: str,
    event: str,
) -> None:
    await reply(client, clinic, answer)
    assert (await appointment(client, clinic))["confirmation"] == confirmation
    async with sessionmaker() as session:
        events = (await session.execute(select(EventDelivery))).scalars().all()
    assert [delivery.event_type for delivery in events] == [event]


async def test_an_answer_to_a_time_that_has_moved_is_left_for_staff(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    reminded: str,
) -> None:
    await book(client, clinic, clock, hours_ahead=72)
    await reply(client, clinic, "JA")
    assert (await appointment(client, clinic))["confirmation"] is None
    replies = (await client.get("/v1/replies", headers=clinic.headers)).json()["data"]
    assert [r["keyword"] for r in replies] == ["confirm"]


async def test_an_answer_from_the_patient_who_lost_the_slot_is_left_for_staff(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    reminded: str,
) -> None:
    """The practice system gave the same slot to another patient; the first one's NEI is
    about their own booking, not the new patient's."""
    await put_patient(client, clinic, "2002", mobile="+4792222222", wants_sms=True)
    await book(client, clinic, clock, patient_no="2002")  # the time of the reminder
    await reply(client, clinic, "NEI")
    assert (await appointment(client, clinic))["confirmation"] is None


async def test_a_booking_made_again_after_a_cancellation_has_no_answer_yet(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    reminded: str,
) -> None:
    await reply(client, clinic, "NEI")
    assert (await appointment(client, clinic))["confirmation"] == "cancellation_requested"
    for status in ("cancelled", "booked"):
        await book(client, clinic, clock, status=status)
    assert (await appointment(client, clinic))["confirmation"] is None


async def test_an_answer_to_a_reminder_sent_to_a_bare_number_reaches_the_appointment(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await put_patient(client, clinic, "1001", mobile=NUMBER, wants_sms=True)
    await book(client, clinic, clock)
    await sent_message(
        client,
        clinic,
        sessionmaker,
        clock,
        to=NUMBER,
        text=None,
        template_type="reminder_1",
        appointment_id="A-1",
        merge_values={"Fornavn": "Kari"},
    )
    await reply(client, clinic, "JA")
    assert (await appointment(client, clinic))["confirmation"] == "confirmed"


async def test_a_message_racing_a_move_of_its_appointment_gets_the_new_time(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    """The move holds the appointment; the message waits for it and is made for the time
    the appointment has when the move commits."""
    await put_patient(client, clinic, "1001", mobile=NUMBER, wants_sms=True)
    await book(client, clinic, clock)
    async with sessionmaker() as moving:
        if moving.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite takes one writer at a time")
        later = clock.now() + timedelta(hours=72)
        await moving.execute(
            update(Appointment)
            .where(col(Appointment.clinic_id) == clinic.id)
            .values(start_at=later, end_at=later + timedelta(minutes=30))
        )
        posting = asyncio.create_task(
            client.post(
                "/v1/messages",
                headers=clinic.headers,
                json={"patient_no": "1001", "template_type": "reminder_1", "appointment_id": "A-1"},
            )
        )
        await _until_a_lock_is_awaited(moving)
        await moving.commit()
    response = await posting
    assert response.status_code == 201, response.text
    assert response.json()["data"][0]["expires_at"] == later.isoformat().replace("+00:00", "Z")


async def _until_a_lock_is_awaited(session: AsyncSession) -> None:
    waiting = select(func.count()).select_from(text("pg_locks")).where(text("NOT granted"))
    for _ in range(500):
        if (await session.execute(waiting)).scalar_one() > 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the message never waited for the appointment")
