"""Where appointments meet the rest: replies (JA/NEI), POST /v1/messages with an
appointment, template previews with real records, erasure."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.appointments.confirmations import apply_reply_keyword
from app.core.clock import FixedClock
from tests.appointments.conftest import (
    by_type,
    messages_of,
    put_appointment,
    z,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

OSLO = ZoneInfo("Europe/Oslo")
START = datetime(2026, 12, 2, 12, 0, tzinfo=OSLO)
pytestmark = pytest.mark.usefixtures("patient", "sender")

Outcome = Literal["confirmed", "cancellation_requested", "ignored"]


async def reply(
    sessionmaker: async_sessionmaker[AsyncSession],
    clinic: ClinicAccess,
    message_id: str,
    keyword: Literal["confirm", "cancel"],
    now: datetime,
    appointment_id: str = "A1",
) -> Outcome:
    async with sessionmaker.begin() as session:
        return await apply_reply_keyword(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment_id,
            message_id=uuid.UUID(message_id),
            keyword=keyword,
            now=now,
        )


class TestReplyKeyword:
    async def test_confirm_then_cancel(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await put_appointment(client, clinic, "A1", start=START)
        [reminder] = await messages_of(client, clinic, "A1")
        assert await reply(sessionmaker, clinic, reminder["id"], "confirm", clock.now()) == (
            "confirmed"
        )
        shown = (await client.get("/v1/appointments/A1", headers=clinic.headers)).json()
        assert (shown["confirmation"], shown["confirmation_at"]) == ("confirmed", z(clock.now()))
        clock.advance(minutes=5)
        outcome = await reply(sessionmaker, clinic, reminder["id"], "cancel", clock.now())
        assert outcome == "cancellation_requested"
        shown = (await client.get("/v1/appointments/A1", headers=clinic.headers)).json()
        assert shown["confirmation"] == "cancellation_requested"
        assert shown["status"] == "booked"  # the practice system decides

    async def test_a_reply_to_the_old_time_is_ignored_after_a_move(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await put_appointment(client, clinic, "A1", start=START)
        [old] = await messages_of(client, clinic, "A1")
        await reply(sessionmaker, clinic, old["id"], "confirm", clock.now())
        moved = await put_appointment(client, clinic, "A1", start=START + timedelta(days=1))
        assert moved["confirmation"] is None  # the confirmation was for the old time
        assert await reply(sessionmaker, clinic, old["id"], "confirm", clock.now()) == "ignored"
        new = by_type(await messages_of(client, clinic, "A1"))["reminder_1"]
        assert await reply(sessionmaker, clinic, new["id"], "confirm", clock.now()) == "confirmed"

    async def test_ignored_when_passed_cancelled_or_not_a_reminder(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
        other_clinic: ClinicAccess,
    ) -> None:
        await put_appointment(client, clinic, "A1", start=START)
        [reminder] = await messages_of(client, clinic, "A1")
        after_start = START + timedelta(minutes=1)
        assert await reply(sessionmaker, clinic, reminder["id"], "confirm", after_start) == (
            "ignored"
        )
        assert (
            await reply(sessionmaker, other_clinic, reminder["id"], "confirm", clock.now())
            == "ignored"
        )
        assert (
            await reply(sessionmaker, clinic, reminder["id"], "confirm", clock.now(), "B2")
            == "ignored"
        )
        general = await client.post(
            "/v1/messages",
            headers=clinic.headers,
            json={"patient_no": "1001", "text": "Hei", "appointment_id": "A1"},
        )
        general_id = general.json()["data"][0]["id"]
        assert await reply(sessionmaker, clinic, general_id, "confirm", clock.now()) == "ignored"
        await put_appointment(client, clinic, "A1", start=START, status="cancelled")
        assert await reply(sessionmaker, clinic, reminder["id"], "confirm", clock.now()) == (
            "ignored"
        )


class TestMessageForAnAppointment:
    async def test_time_practitioner_and_expiry_come_from_the_appointment(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_appointment(client, clinic, "A1", start=START, practitioner="Dr. Berg")
        response = await client.post(
            "/v1/messages",
            headers=clinic.headers,
            json={"patient_no": "1001", "template_type": "reminder_2", "appointment_id": "A1"},
        )
        assert response.status_code == 201, response.text
        [message] = response.json()["data"]
        assert "hos Dr. Berg onsdag 2. desember kl. 12:00" in message["text"]
        assert message["practitioner"] == "Dr. Berg"
        assert message["expires_at"] == z(START.astimezone(UTC))

    async def test_the_callers_values_win(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_appointment(client, clinic, "A1", start=START)
        response = await client.post(
            "/v1/messages",
            headers=clinic.headers,
            json={
                "patient_no": "1001",
                "template_type": "reminder_2",
                "appointment_id": "A1",
                "practitioner": "Vikar",
                "merge_values": {"Tidspunkt": "i morgen"},
                "expires_at": (START + timedelta(hours=2)).isoformat(),
            },
        )
        [message] = response.json()["data"]
        assert "hos Vikar i morgen." in message["text"]
        assert message["expires_at"] == z((START + timedelta(hours=2)).astimezone(UTC))

    async def test_a_reminder_for_a_cancelled_or_past_appointment_is_409(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_appointment(client, clinic, "GONE", start=START, status="cancelled")
        await put_appointment(client, clinic, "PAST", start=clock.now() - timedelta(hours=1))
        for appointment_id in ("GONE", "PAST"):
            response = await client.post(
                "/v1/messages",
                headers=clinic.headers,
                json={
                    "patient_no": "1001",
                    "template_type": "reminder_1",
                    "appointment_id": appointment_id,
                },
            )
            assert response.status_code == 409, response.text

    async def test_another_patients_appointment_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "2002", first_name="Ola")
        await put_appointment(client, clinic, "A1", start=START)
        for path, extra in (
            ("/v1/messages", {"patient_no": "2002"}),
            ("/v1/messages/bulk", {"patient_nos": ["1001", "2002"]}),
        ):
            response = await client.post(
                path,
                headers=clinic.headers,
                json={"template_type": "notice", "appointment_id": "A1"} | extra,
            )
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "appointment_id"


class TestPreview:
    async def test_with_a_real_appointment_and_patient(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "2002", first_name="Ola", last_name="Berg")
        await put_appointment(
            client, clinic, "A1", start=START, patient_no="2002", practitioner="Dr. Ås"
        )
        response = await client.post(
            "/v1/templates/cancellation_confirmation/preview",
            headers=clinic.headers,
            json={"appointment_id": "A1"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["text"] == (
            "Hei Ola! Timen du hadde hos Dr. Ås onsdag 2. desember kl. 12:00 er avbestilt. "
            "Ring oss på 22 33 44 55 for å få ny time."
        )
        patient_only = await client.post(
            "/v1/templates/reminder_1/preview",
            headers=clinic.headers,
            json={"patient_no": "2002", "values": {"Behandler": "Dr. X"}},
        )
        values = patient_only.json()["values"]
        assert (values["Mottaker"], values["Behandler"]) == ("Ola", "Dr. X")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"patient_no": "404"}, "patient_no"),
            ({"appointment_id": "NOPE"}, "appointment_id"),
            ({"appointment_id": "A1", "patient_no": "2002"}, "appointment_id"),
        ],
    )
    async def test_unknown_or_mismatched_records_are_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, body: dict[str, str], field: str
    ) -> None:
        await put_patient(client, clinic, "2002")
        await put_appointment(client, clinic, "A1", start=START)
        response = await client.post(
            "/v1/templates/reminder_1/preview", headers=clinic.headers, json=body
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


class TestErasure:
    async def test_erasing_the_patient_erases_their_appointments(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_appointment(client, clinic, "A1", start=START)
        erased = await client.delete("/v1/patients/1001", headers=clinic.headers)
        assert erased.status_code == 204, erased.text
        assert (await client.get("/v1/appointments/A1", headers=clinic.headers)).status_code == 404
        [message] = await messages_of(client, clinic, "A1")
        assert message["status"] == "cancelled"
