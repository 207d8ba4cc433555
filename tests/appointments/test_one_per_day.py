"""One reminder per person per day (issue 12 §2): a patient's (or a guardian's children's)
appointments on one local day share one reminder per number, listing each time."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.appointments.conftest import (
    Json,
    patch_settings,
    put_appointment,
    put_rules,
    send_due,
    z,
)
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import recorded, subscribe
from tests.messages.conftest import put_patient
from tests.replies.test_inbound import reply

OSLO = ZoneInfo("Europe/Oslo")
THURSDAY = datetime(2026, 12, 3, tzinfo=OSLO)
ONE_REMINDER: Json = {
    "reminder_1": {"enabled": True, "hours_before": 24},
    "reminder_2": {"enabled": False, "hours_before": 4},
    "booking_confirmation": False,
}
GUARDIAN = "+4791111111"

pytestmark = pytest.mark.usefixtures("patient", "sender")


def at(hour: int, minute: int = 0, day: datetime = THURSDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


async def pending(client: httpx.AsyncClient, clinic: ClinicAccess, **params: Any) -> list[Json]:
    response = await client.get(
        "/v1/messages", headers=clinic.headers, params={"status": "pending"} | params
    )
    assert response.status_code == 200, response.text
    data: list[Json] = response.json()["data"]
    return sorted(data, key=lambda m: (m["type"], m["scheduled_for"], m["to"]))


async def day_list(client: httpx.AsyncClient, clinic: ClinicAccess, day: str) -> dict[str, Json]:
    response = await client.get("/v1/appointments", headers=clinic.headers, params={"date": day})
    assert response.status_code == 200, response.text
    return {a["appointment_id"]: a for a in response.json()["data"]}


async def book_two_children(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    """A guardian (Anne, GUARDIAN) of Ola (2001, B1 at 09:00) and Per (2002, B2 at 09:30),
    both on THURSDAY, with one reminder a day before and guardians included."""
    await patch_settings(client, clinic, include_guardians=True)
    await put_rules(client, clinic, **ONE_REMINDER)
    guardian = [{"name": "Anne Nordmann", "mobile": GUARDIAN, "wants_sms": True}]
    await put_patient(client, clinic, "2001", first_name="Ola", mobile=None, guardians=guardian)
    await put_patient(client, clinic, "2002", first_name="Per", mobile=None, guardians=guardian)
    await put_appointment(client, clinic, "B1", start=at(9), patient_no="2001")
    await put_appointment(client, clinic, "B2", start=at(9, 30), patient_no="2002")


def reminder_ids(appointment: Json) -> list[str]:
    [entry] = [e for e in appointment["schedule"] if e["kind"] == "reminder_1"]
    ids: list[str] = entry["message_ids"]
    return ids


class TestOnePatientOneDay:
    async def test_two_appointments_get_one_reminder_with_both_times(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(14, 30))
        await put_appointment(client, clinic, "A2", start=at(9))

        [message] = await pending(client, clinic)
        assert "torsdag 3. desember kl. 09:00 og kl. 14:30" in message["text"]
        assert message["text"].startswith("Hei Kari! Vi minner om at du har time")
        # It goes before the first, 24 hours ahead of it, and expires when it starts.
        assert message["scheduled_for"] == z((at(9) - timedelta(hours=24)).astimezone(UTC))
        assert message["expires_at"] == z(at(9).astimezone(UTC))
        assert message["appointment_id"] == "A2"

        listed = await day_list(client, clinic, "2026-12-03")
        assert reminder_ids(listed["A1"]) == reminder_ids(listed["A2"]) == [message["id"]]
        assert listed["A1"]["reminder_state"] == listed["A2"]["reminder_state"] == "scheduled"

    async def test_three_times_read_as_a_list(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER)
        for appointment_id, hour in (("A1", 9), ("A2", 14), ("A3", 11)):
            await put_appointment(client, clinic, appointment_id, start=at(hour))
        [message] = await pending(client, clinic)
        assert "torsdag 3. desember kl. 09:00, kl. 11:00 og kl. 14:00." in message["text"]

    async def test_each_reminder_number_is_shared_and_another_day_is_its_own(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(
            client, clinic, **ONE_REMINDER | {"reminder_2": {"enabled": True, "hours_before": 4}}
        )
        await put_appointment(client, clinic, "A1", start=at(9))
        await put_appointment(client, clinic, "A2", start=at(14))
        await put_appointment(client, clinic, "A3", start=at(9, day=THURSDAY + timedelta(days=1)))
        messages = await pending(client, clinic)
        # Reminder 2 for 09:00 moves out of the night to the evening before: still shared.
        texts = {(m["type"], m["appointment_id"]): m["text"] for m in messages}
        assert len(messages) == len(texts) == 4
        for kind in ("reminder_1", "reminder_2"):
            assert "torsdag 3. desember kl. 09:00 og kl. 14:00." in texts[kind, "A1"]
            assert "fredag 4. desember kl. 09:00." in texts[kind, "A3"]

    async def test_across_a_dst_change_and_a_night_pause(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        # Summer time ends on Sunday 25 October; reminders 48 h before Monday 26 October fall
        # on the Saturday (no sending) and move to the Friday's last hour before the night.
        clock.set(datetime(2026, 10, 21, 10, tzinfo=OSLO))
        await put_rules(
            client, clinic, **ONE_REMINDER | {"reminder_1": {"enabled": True, "hours_before": 48}}
        )
        monday = datetime(2026, 10, 26, tzinfo=OSLO)
        await put_appointment(client, clinic, "A1", start=at(10, day=monday))
        await put_appointment(client, clinic, "A2", start=at(8, 30, day=monday))
        [message] = await pending(client, clinic)
        assert "mandag 26. oktober kl. 08:30 og kl. 10:00" in message["text"]
        assert message["scheduled_for"] == z(datetime(2026, 10, 23, 18, tzinfo=UTC))

    async def test_the_local_day_decides_not_the_utc_one(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        # 00:30 in Oslo is the day before in UTC; 23:30 the same UTC day as the next morning.
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(0, 30))
        await put_appointment(client, clinic, "A2", start=at(23, 30) - timedelta(days=1))
        assert len(await pending(client, clinic)) == 2


class TestAGuardianOfTwoChildren:
    async def test_gets_one_reminder_naming_both(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await book_two_children(client, clinic)

        [message] = await pending(client, clinic)
        assert message["to"] == GUARDIAN
        assert message["text"].startswith(
            "Hei Anne Nordmann! Vi minner om at Ola og Per har time hos Tannlege Hansen "
            "torsdag 3. desember kl. 09:00 (Ola) og kl. 09:30 (Per)."
        )
        listed = await day_list(client, clinic, "2026-12-03")
        assert reminder_ids(listed["B1"]) == reminder_ids(listed["B2"]) == [message["id"]]


async def appointment(client: httpx.AsyncClient, clinic: ClinicAccess, appointment_id: str) -> Json:
    response = await client.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


class TestAReplyAnswersEveryAppointmentInIt:
    @pytest.mark.parametrize(
        ("answer", "confirmation", "event"),
        [
            ("JA", "confirmed", "appointment.confirmed"),
            ("NEI", "cancellation_requested", "appointment.cancellation_requested"),
        ],
    )
    async def test_ja_or_nei(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        answer: str,
        confirmation: str,
        event: str,
    ) -> None:
        await subscribe(client, clinic, event_types=[event])
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(9))
        await put_appointment(client, clinic, "A2", start=at(14, 30))
        clock.set(at(9) - timedelta(hours=24))
        assert len((await send_due(sessionmaker, clock)).sent) == 1
        clock.advance(minutes=5)
        await reply(client, clinic, answer)

        for appointment_id in ("A1", "A2"):
            assert (await appointment(client, clinic, appointment_id))["confirmation"] == (
                confirmation
            )
        events = await recorded(sessionmaker)
        assert sorted(e.data["appointment_id"] for e in events) == ["A1", "A2"]

    async def test_a_ja_cancels_the_shared_later_reminder(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(
            client,
            clinic,
            **ONE_REMINDER | {"reminder_2": {"enabled": True, "hours_before": 2}},
        )
        await put_appointment(client, clinic, "A1", start=at(10))
        await put_appointment(client, clinic, "A2", start=at(14, 30))
        clock.set(at(10) - timedelta(hours=24))
        await send_due(sessionmaker, clock)
        clock.advance(minutes=5)
        await reply(client, clinic, "JA")
        assert await pending(client, clinic) == []
        for appointment_id in ("A1", "A2"):
            schedule = (await appointment(client, clinic, appointment_id))["schedule"]
            kinds = {e["kind"]: (e["state"], e["reason"]) for e in schedule}
            assert kinds["reminder_2"] == ("skipped", "confirmed")


class TestMovingOrCancellingOne:
    async def test_a_move_to_another_day_splits_the_reminder(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(9))
        await put_appointment(client, clinic, "A2", start=at(14, 30))
        await put_appointment(client, clinic, "A1", start=at(9) + timedelta(days=1))

        messages = {m["appointment_id"]: m for m in await pending(client, clinic)}
        assert set(messages) == {"A1", "A2"}
        assert "fredag 4. desember kl. 09:00." in messages["A1"]["text"]
        assert "torsdag 3. desember kl. 14:30." in messages["A2"]["text"]
        # The one left goes at its own time, no longer at the moved one's.
        assert messages["A2"]["scheduled_for"] == z(
            (at(14, 30) - timedelta(days=1)).astimezone(UTC)
        )
        thursday = await day_list(client, clinic, "2026-12-03")
        friday = await day_list(client, clinic, "2026-12-04")
        assert reminder_ids(thursday["A2"]) == [messages["A2"]["id"]]
        assert reminder_ids(friday["A1"]) == [messages["A1"]["id"]]

    async def test_a_move_on_the_same_day_renders_it_again(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(9))
        await put_appointment(client, clinic, "A2", start=at(14, 30))
        await put_appointment(client, clinic, "A2", start=at(8))
        [message] = await pending(client, clinic)
        assert "torsdag 3. desember kl. 08:00 og kl. 09:00." in message["text"]
        assert message["scheduled_for"] == z((at(8) - timedelta(days=1)).astimezone(UTC))
        listed = await day_list(client, clinic, "2026-12-03")
        assert reminder_ids(listed["A1"]) == reminder_ids(listed["A2"]) == [message["id"]]

    async def test_cancelling_the_first_leaves_the_reminder_to_the_other(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(9))
        await put_appointment(client, clinic, "A2", start=at(14, 30))
        [shared] = await pending(client, clinic)
        await put_appointment(client, clinic, "A1", start=at(9), status="cancelled")

        [message] = await pending(client, clinic, type="reminder_1")
        assert message["id"] == shared["id"]
        assert message["appointment_id"] == "A2"
        assert "torsdag 3. desember kl. 14:30." in message["text"]
        assert "09:00" not in message["text"]
        assert message["expires_at"] == z(at(14, 30).astimezone(UTC))
        assert (await appointment(client, clinic, "A1"))["reminder_state"] == "none"
        assert (await appointment(client, clinic, "A2"))["reminder_state"] == "scheduled"

    async def test_cancelling_both_cancels_it(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER)
        await put_appointment(client, clinic, "A1", start=at(9))
        await put_appointment(client, clinic, "A2", start=at(14, 30))
        for appointment_id, hour in (("A2", 14), ("A1", 9)):
            await put_appointment(
                client,
                clinic,
                appointment_id,
                start=at(hour, 30 if hour == 14 else 0),
                status="cancelled",
            )
        assert await pending(client, clinic, type="reminder_1") == []


class TestErasure:
    async def test_erasing_one_child_leaves_the_reminder_to_the_other_without_them(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await book_two_children(client, clinic)
        response = await client.delete("/v1/patients/2001", headers=clinic.headers)
        assert response.status_code == 204, response.text

        [message] = await pending(client, clinic)
        assert "Ola" not in message["text"]
        assert (
            "at Per har time hos Tannlege Hansen torsdag 3. desember kl. 09:30."
            in (message["text"])
        )
        assert (message["appointment_id"], message["patient_no"]) == ("B2", "2002")
        listed = await day_list(client, clinic, "2026-12-03")
        assert list(listed) == ["B2"]
        assert reminder_ids(listed["B2"]) == [message["id"]]

    async def test_a_shared_reminder_that_went_loses_its_text(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await patch_settings(client, clinic, include_guardians=True)
        await put_rules(client, clinic, **ONE_REMINDER)
        guardian = [{"name": "Anne Nordmann", "mobile": GUARDIAN, "wants_sms": True}]
        await put_patient(client, clinic, "2001", first_name="Ola", mobile=None, guardians=guardian)
        await put_patient(client, clinic, "2002", first_name="Per", mobile=None, guardians=guardian)
        await put_appointment(client, clinic, "B1", start=at(9), patient_no="2002")
        await put_appointment(client, clinic, "B2", start=at(9, 30), patient_no="2001")
        clock.set(at(9) - timedelta(hours=24))
        assert len((await send_due(sessionmaker, clock)).sent) == 1
        assert (await client.delete("/v1/patients/2001", headers=clinic.headers)).status_code == 204
        response = await client.get("/v1/messages", headers=clinic.headers)
        [message] = response.json()["data"]
        assert (message["patient_no"], message["text"], message["erased"]) == ("2002", None, True)


class TestTheBookingConfirmation:
    async def test_one_still_waiting_takes_in_the_next_booking_of_the_day(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER | {"booking_confirmation": True})
        await put_appointment(client, clinic, "A1", start=at(14, 30))
        await put_appointment(client, clinic, "A2", start=at(9))
        [reminder] = await pending(client, clinic, type="reminder_1")
        [booking] = await pending(client, clinic, type="booking_confirmation")
        assert "torsdag 3. desember kl. 09:00 og kl. 14:30." in booking["text"]
        assert reminder["id"] != booking["id"]

    async def test_one_that_went_is_not_sent_again(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(client, clinic, **ONE_REMINDER | {"booking_confirmation": True})
        await put_appointment(client, clinic, "A1", start=at(14, 30))
        clock.set(clock.now().replace(hour=12))
        assert len((await send_due(sessionmaker, clock)).sent) == 1
        await put_appointment(client, clinic, "A2", start=at(9))
        [booking] = await pending(client, clinic, type="booking_confirmation")
        assert booking["appointment_id"] == "A2"
        assert "torsdag 3. desember kl. 09:00." in booking["text"]


async def test_the_message_list_finds_a_shared_reminder_by_each_appointment(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_rules(client, clinic, **ONE_REMINDER)
    await put_appointment(client, clinic, "A1", start=at(9))
    await put_appointment(client, clinic, "A2", start=at(14, 30))
    first = await pending(client, clinic, appointment_id="A1")
    second = await pending(client, clinic, appointment_id="A2")
    assert len(first) == 1
    assert first == second


async def test_a_confirmed_appointment_does_not_share_with_one_that_must_be_asked(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await put_rules(client, clinic, **ONE_REMINDER | {"booking_confirmation": True})
    await put_appointment(client, clinic, "A1", start=at(9))
    assert len((await send_due(sessionmaker, clock)).sent) == 1  # the booking confirmation
    clock.advance(minutes=5)
    await reply(client, clinic, "JA")
    await put_appointment(client, clinic, "A2", start=at(14, 30))

    reminders = {m["appointment_id"]: m for m in await pending(client, clinic, type="reminder_1")}
    assert set(reminders) == {"A1", "A2"}
    assert "Svar JA" not in reminders["A1"]["text"]
    assert "kl. 09:00." in reminders["A1"]["text"]
    assert "kl. 14:30. Svar JA" in reminders["A2"]["text"]
