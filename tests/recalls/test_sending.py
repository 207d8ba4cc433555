"""The recall planner end to end: messages at the send hour, repeats, booking ending a
recall (also while the planner runs), and the due date set, kept or cleared."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.appointments.models import AppointmentStatus
from app.appointments.schemas import AppointmentWrite
from app.appointments.service import upsert_appointment
from app.core.clock import FixedClock
from app.events.models import EventDelivery
from app.patients.models import Patient
from app.recalls import service as recalls
from tests.appointments.conftest import (
    patch_settings,
    put_appointment,
    put_rules,
    send_due,
    set_delivery,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.recalls.conftest import (
    FIRST_SEND,
    RULE,
    URL_TEXT,
    due_patient,
    made_recall,
    message,
    plan,
    recall_messages,
    recall_of,
    save_recall_text,
    sent_recall,
    z,
)

pytestmark = pytest.mark.usefixtures("recall_rule")
Json = dict[str, Any]
LATER = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)


class TestFirstRecall:
    async def test_made_two_hours_before_the_send_hour_and_sent_at_it(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await save_recall_text(client, clinic, URL_TEXT)  # [URL]: the rule's booking_url
        await due_patient(client, clinic)
        scheduled = await recall_of(client, clinic, "1001")
        assert scheduled["state"] == "scheduled"
        assert scheduled["next_send_at"] == z(FIRST_SEND)
        clock.set(FIRST_SEND - timedelta(hours=2, seconds=1))
        assert (await plan(sessionmaker, clinic, clock)).made == 0
        clock.set(FIRST_SEND - timedelta(hours=2))
        assert (await plan(sessionmaker, clinic, clock)).made == 1
        made = await recall_of(client, clinic, "1001")
        assert (made["state"], made["attempts"], made["next_send_at"]) == (
            "scheduled",
            1,
            z(FIRST_SEND),
        )
        row = await message(sessionmaker, made["message_id"])
        assert (row.type, row.next_attempt_at, row.to_number) == (
            "recall",
            FIRST_SEND,
            "+4791234567",
        )
        assert row.text is not None
        assert "https://berg.no/bestill" in row.text
        assert "Kari" in row.text
        assert (await plan(sessionmaker, clinic, clock)).made == 0, "made once"
        clock.set(FIRST_SEND)
        provider = await send_due(sessionmaker, clock)
        assert provider.sent_ids == [made["message_id"]]
        sent = await recall_of(client, clinic, "1001")
        assert (sent["state"], sent["sent_at"]) == ("sent", z(FIRST_SEND))
        await set_delivery(sessionmaker, made["message_id"], "delivered")
        assert (await recall_of(client, clinic, "1001"))["state"] == "delivered"

    async def test_a_repeat_goes_after_the_days_to_a_patient_who_has_not_booked(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await sent_recall(client, clinic, sessionmaker, clock)
        repeat = FIRST_SEND + timedelta(days=14)
        assert (await recall_of(client, clinic, "1001"))["next_send_at"] == z(repeat)
        clock.set(repeat - timedelta(hours=2, seconds=1))
        assert (await plan(sessionmaker, clinic, clock)).made == 0
        clock.set(repeat - timedelta(hours=2))
        assert (await plan(sessionmaker, clinic, clock)).made == 1
        second = await recall_of(client, clinic, "1001")
        assert (second["attempts"], second["next_send_at"]) == (2, z(repeat))
        clock.set(repeat)
        await send_due(sessionmaker, clock)
        last = await recall_of(client, clinic, "1001")
        assert (last["state"], last["next_send_at"]) == ("sent", None), "max_attempts is 2"
        clock.set(repeat + timedelta(days=30))
        assert (await plan(sessionmaker, clinic, clock)).made == 0

    async def test_nothing_while_the_rule_is_off(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await put_rules(client, clinic, recall=RULE | {"enabled": False})
        await due_patient(client, clinic)
        assert (await plan(sessionmaker, clinic, clock)).made == 0
        recall = await recall_of(client, clinic, "1001")
        assert (recall["state"], recall["next_send_at"]) == ("scheduled", None)
        await patch_settings(client, clinic, sms_enabled=False)
        await put_rules(client, clinic, recall=RULE)
        assert (await plan(sessionmaker, clinic, clock)).made == 0


async def _subscribe(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.post(
        "/v1/event-subscriptions",
        headers=clinic.headers,
        json={"url": "http://127.0.0.1:9/pms", "event_types": ["message.status_changed"]},
    )
    assert response.status_code == 201, response.text


async def _events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Json]:
    async with sessionmaker() as session:
        rows = await session.execute(select(col(EventDelivery.data)))
        return list(rows.scalars())


class TestBooking:
    async def test_booking_cancels_a_waiting_recall_with_the_reason(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await _subscribe(client, clinic)
        message_id = await made_recall(client, clinic, sessionmaker, clock)
        await put_appointment(client, clinic, "A1", start=LATER)
        recall = await recall_of(client, clinic, "1001")
        assert (recall["state"], recall["skip_reason"]) == ("skipped", "has_appointment")
        assert recall["next_send_at"] is None
        cancelled = await message(sessionmaker, message_id)
        assert (cancelled.status, cancelled.failure_reason) == ("cancelled", "has_appointment")
        events = [e for e in await _events(sessionmaker) if e["message_id"] == message_id]
        assert [(e["status"], e["failure_reason"]) for e in events] == [
            ("cancelled", "has_appointment")
        ]
        clock.set(FIRST_SEND)
        assert (await send_due(sessionmaker, clock)).sent == []

    async def test_booking_after_a_recall_went_is_booked_and_ends_the_repeats(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await sent_recall(client, clinic, sessionmaker, clock)
        await put_appointment(client, clinic, "A1", start=LATER)
        booked = await recall_of(client, clinic, "1001")
        assert (booked["state"], booked["skip_reason"], booked["next_send_at"]) == (
            "booked",
            None,
            None,
        )
        clock.set(FIRST_SEND + timedelta(days=14, hours=-1))
        assert (await plan(sessionmaker, clinic, clock)).made == 0

    async def test_a_booking_pushed_to_another_clinic_leaves_this_clinics_recall(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await sent_recall(client, clinic, sessionmaker, clock)
        async with sessionmaker() as session:
            patient_id = (
                await session.execute(
                    select(col(Patient.id)).where(col(Patient.patient_no) == "1001")
                )
            ).scalar_one()
            await recalls.follow_bookings(
                session,
                other_clinic.id,
                bookings=[(patient_id, AppointmentStatus.BOOKED, LATER)],
                now=clock.now(),
            )
            await session.commit()
        assert (await recall_of(client, clinic, "1001"))["state"] == "sent"

    async def test_a_booked_appointment_ahead_means_no_recall(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await due_patient(client, clinic, "1001")
        await due_patient(client, clinic, "1002")
        await due_patient(client, clinic, "1003")
        await put_appointment(client, clinic, "A1", start=LATER, patient_no="1001")
        assert (await recall_of(client, clinic, "1001"))["state"] == "scheduled", "not yet due"
        await put_appointment(client, clinic, "A2", start=LATER, patient_no="1002")
        await put_appointment(
            client, clinic, "A2", start=LATER, patient_no="1002", status="cancelled"
        )
        past = FIRST_SEND - timedelta(hours=3)
        await put_appointment(client, clinic, "A3", start=past, patient_no="1003")
        stats = await plan(sessionmaker, clinic, clock)
        assert (stats.made, stats.skipped) == (2, 1)
        skipped = await recall_of(client, clinic, "1001")
        assert (skipped["state"], skipped["skip_reason"]) == ("skipped", "has_appointment")
        assert skipped["message_id"] is None
        assert [m.patient_no for m in await recall_messages(sessionmaker)] == ["1002", "1003"]

    async def test_an_appointment_over_before_the_recall_is_due_does_not_stop_it(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await due_patient(client, clinic, due="2027-01-14")  # first recall 2026-12-15
        await put_appointment(client, clinic, "A1", start=datetime(2026, 12, 7, 9, tzinfo=UTC))
        clock.set(datetime(2026, 12, 15, 10, tzinfo=UTC))
        assert (await plan(sessionmaker, clinic, clock)).made == 1


class TestDueDate:
    async def test_null_clears_the_recall_and_cancels_its_message(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        message_id = await made_recall(client, clinic, sessionmaker, clock)
        await due_patient(client, clinic, due=None)
        assert (await recall_of(client, clinic, "1001"))["state"] == "none"
        cancelled = await message(sessionmaker, message_id)
        assert (cancelled.status, cancelled.failure_reason) == ("cancelled", "recall_due_changed")
        listed = await client.get("/v1/recalls", headers=clinic.headers)
        assert listed.json()["data"] == []

    async def test_the_same_date_or_none_given_changes_nothing_a_new_one_starts_over(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await sent_recall(client, clinic, sessionmaker, clock)
        await due_patient(client, clinic)
        await put_patient(client, clinic, "1001", first_name="Kari Anne")
        kept = await recall_of(client, clinic, "1001")
        assert (kept["state"], kept["attempts"], kept["due_date"]) == ("sent", 1, "2026-12-30")
        await due_patient(client, clinic, due="2027-12-30")
        again = await recall_of(client, clinic, "1001")
        assert (again["state"], again["attempts"], again["due_date"]) == (
            "scheduled",
            0,
            "2027-12-30",
        )
        assert again["next_send_at"] == "2027-11-30T11:00:00Z"
        sent = await message(sessionmaker, kept["message_id"])
        assert sent.status == "sent", "a message that went stays as it was"


async def test_a_planner_waits_for_a_booking_being_saved_and_then_sees_it(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """PostgreSQL, two sessions: the booking's transaction holds the recall; the planner,
    running meanwhile, waits for it and then skips the recall rather than making it."""
    await due_patient(client, clinic)
    async with sessionmaker() as booking:
        if booking.get_bind().dialect.name != "postgresql":
            pytest.skip("two concurrent writers need PostgreSQL")
        await booking.begin()
        data = AppointmentWrite.model_validate(
            {
                "patient_no": "1001",
                "practitioner": "Tannlege Hansen",
                "start": LATER,
                "end": LATER + timedelta(minutes=30),
                "status": "booked",
            }
        )
        await upsert_appointment(
            booking, clinic_id=clinic.id, appointment_id="A1", data=data, now=clock.now()
        )
        planner = asyncio.create_task(plan(sessionmaker, clinic, clock))
        await asyncio.sleep(0.5)
        assert not planner.done(), "the planner waits for the booking"
        await booking.commit()
    stats = await planner
    assert (stats.made, stats.skipped) == (0, 1)
    recall = await recall_of(client, clinic, "1001")
    assert (recall["state"], recall["skip_reason"]) == ("skipped", "has_appointment")
