"""An appointment's life through the API with an injected clock: book, move, cancel,
complete, and the same push twice. The clock starts on Monday 2026-11-30 11:00 in Oslo."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.appointments.conftest import (
    Json,
    by_type,
    messages_of,
    patch_settings,
    put_appointment,
    put_rules,
    send_due,
    set_delivery,
    z,
)
from tests.conftest import ClinicAccess

OSLO = ZoneInfo("Europe/Oslo")
pytestmark = pytest.mark.usefixtures("patient", "sender")


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


def utc(moment: datetime) -> str:
    return z(moment.astimezone(UTC))


TWO_REMINDERS = {
    "reminder_1": {"enabled": True, "hours_before": 48},
    "reminder_2": {"enabled": True, "hours_before": 24},
    "booking_confirmation": True,
    "cancellation_confirmation": True,
    "thank_you": {"enabled": True, "hours_after": 2},
}


class TestBooking:
    async def test_reminder_and_confirmation_at_the_right_times(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, booking_confirmation=True)
        start = oslo(2026, 12, 7, 8, 30)  # Monday: 24 h before is Sunday, a pause
        body = await put_appointment(client, clinic, "A1", start=start, expect=(201,))
        assert body["status"] == "booked"
        assert body["reminder_state"] == "scheduled"
        messages = by_type(await messages_of(client, clinic, "A1"))
        confirmation, reminder = messages["booking_confirmation"], messages["reminder_1"]
        assert confirmation["scheduled_for"] == z(clock.now())
        assert confirmation["expires_at"] == utc(start)
        assert reminder["scheduled_for"] == utc(oslo(2026, 12, 4, 20, 0))  # Friday 20:00
        assert reminder["send_after"] == utc(start - timedelta(hours=24))
        assert reminder["expires_at"] == utc(start)
        assert reminder["text"] == (
            "Hei Kari! Vi minner om at du har time hos Tannlege Hansen mandag 7. desember "
            "kl. 08:30. Svar JA for å bekrefte eller NEI om du ikke kan komme."
        )
        assert reminder["appointment_id"] == "A1"
        assert reminder["practitioner"] == "Tannlege Hansen"
        kinds = {entry["kind"]: entry for entry in body["schedule"]}
        assert kinds["reminder_1"]["scheduled_for"] == reminder["scheduled_for"]
        assert kinds["reminder_1"]["message_ids"] == [reminder["id"]]

    async def test_a_changed_pause_rule_re_times_the_reminders_waiting(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic)
        start = oslo(2026, 12, 7, 8, 30)  # Monday: 24 h before is Sunday, a pause
        await put_appointment(client, clinic, "A1", start=start, expect=(201,))

        await patch_settings(client, clinic, pause_rules={"sunday": False})
        reminder = by_type(await messages_of(client, clinic, "A1"))["reminder_1"]
        assert reminder["scheduled_for"] == utc(start - timedelta(hours=24))  # when it is due

        await patch_settings(client, clinic, pause_rules={"sunday": True})
        reminder = by_type(await messages_of(client, clinic, "A1"))["reminder_1"]
        assert reminder["scheduled_for"] == utc(oslo(2026, 12, 4, 20, 0))  # earlier again

    async def test_dst_spring_forward_keeps_elapsed_hours(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await patch_settings(client, clinic, pause_rules={"saturday": False, "sunday": False})
        await put_rules(client, clinic, reminder_1={"enabled": True, "hours_before": 48})
        await put_appointment(client, clinic, "DST", start=oslo(2027, 3, 29, 10, 0))
        reminder = by_type(await messages_of(client, clinic, "DST"))["reminder_1"]
        # 48 elapsed hours before Monday 10:00 CEST is Saturday 09:00 CET.
        assert reminder["scheduled_for"] == utc(oslo(2027, 3, 27, 9, 0))
        assert reminder["text"].endswith(
            "mandag 29. mars kl. 10:00. Svar JA for å bekrefte eller NEI om du ikke kan komme."
        )

    async def test_a_reminder_already_due_goes_now_if_the_appointment_is_far_enough(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_appointment(client, clinic, "SOON", start=clock.now() + timedelta(hours=3))
        [reminder] = await messages_of(client, clinic, "SOON")
        assert reminder["scheduled_for"] == z(clock.now())
        body = await put_appointment(
            client, clinic, "SOONER", start=clock.now() + timedelta(hours=1)
        )
        assert await messages_of(client, clinic, "SOONER") == []
        assert (body["reminder_state"], body["reminder_skip_reason"]) == (
            "skipped",
            "within_min_lead",
        )
        [entry] = body["schedule"]
        assert (entry["kind"], entry["state"], entry["reason"]) == (
            "reminder_1",
            "skipped",
            "within_min_lead",
        )

    async def test_the_skip_is_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_appointment(client, clinic, "SOONER", start=clock.now() + timedelta(hours=1))
        response = await client.get("/v1/appointments/SOONER", headers=clinic.headers)
        assert response.json()["reminder_skip_reason"] == "within_min_lead"

    async def test_a_past_appointment_is_stored_and_sends_nothing(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, **TWO_REMINDERS)
        start = clock.now() - timedelta(days=1)
        body = await put_appointment(client, clinic, "OLD", start=start, expect=(201,))
        assert body["start"] == z(start)
        assert await messages_of(client, clinic, "OLD") == []
        reasons = {entry["kind"]: entry["reason"] for entry in body["schedule"]}
        assert reasons == {
            "reminder_1": "within_min_lead",
            "reminder_2": "within_min_lead",
            "booking_confirmation": "too_late",
        }
        completed = await put_appointment(client, clinic, "OLD", start=start, status="completed")
        assert await messages_of(client, clinic, "OLD") == []
        assert {e["kind"]: e["reason"] for e in completed["schedule"]}["thank_you"] == "too_late"


class TestSamePushTwice:
    async def test_changes_nothing(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, **TWO_REMINDERS)
        start = oslo(2026, 12, 10, 12, 0)
        first = await put_appointment(client, clinic, "A1", start=start, expect=(201,))
        clock.advance(minutes=5)
        second = await put_appointment(client, clinic, "A1", start=start, expect=(200,))
        assert second == first
        assert len(await messages_of(client, clinic, "A1")) == 3

    async def test_the_same_time_in_another_offset_is_the_same_push(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        start = oslo(2026, 12, 10, 12, 0)
        first = await put_appointment(client, clinic, "A1", start=start)
        second = await put_appointment(client, clinic, "A1", start=start.astimezone(UTC))
        assert second["updated_at"] == first["updated_at"]
        assert len(await messages_of(client, clinic, "A1")) == 1


class TestMove:
    async def test_re_timed_and_already_sent_not_repeated(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await put_rules(client, clinic, **TWO_REMINDERS)
        thursday = oslo(2026, 12, 3, 12, 0)
        await put_appointment(client, clinic, "A1", start=thursday)
        first = by_type(await messages_of(client, clinic, "A1"))
        assert first["reminder_1"]["scheduled_for"] == utc(oslo(2026, 12, 1, 12, 0))
        assert first["reminder_2"]["scheduled_for"] == utc(oslo(2026, 12, 2, 12, 0))
        await send_due(sessionmaker, clock)  # the booking confirmation
        clock.set(oslo(2026, 12, 1, 13, 0))
        await send_due(sessionmaker, clock)  # reminder 1

        friday = oslo(2026, 12, 4, 12, 0)
        moved = await put_appointment(client, clinic, "A1", start=friday)
        assert moved["start"] == utc(friday)
        after = await messages_of(client, clinic, "A1")
        by_status = {(m["type"], m["status"]) for m in after}
        assert ("reminder_2", "cancelled") in by_status  # was for Thursday
        assert ("reminder_1", "sent") in by_status  # Thursday's stays sent
        pending = by_type(after)
        assert pending["reminder_1"]["scheduled_for"] == utc(oslo(2026, 12, 2, 12, 0))
        assert pending["reminder_2"]["scheduled_for"] == utc(oslo(2026, 12, 3, 12, 0))
        assert "fredag 4. desember kl. 12:00" in pending["reminder_1"]["text"]
        assert pending["booking_confirmation"]["scheduled_for"] == z(clock.now())
        assert moved["reminder_state"] == "scheduled"

        back = await put_appointment(client, clinic, "A1", start=thursday)
        final = await messages_of(client, clinic, "A1")
        waiting = by_type(final)
        assert set(waiting) == {"reminder_2"}  # reminder 1 and the confirmation went already
        assert "torsdag 3. desember kl. 12:00" in waiting["reminder_2"]["text"]
        assert sum(1 for m in final if m["type"] == "reminder_1" and m["status"] == "sent") == 1
        assert back["reminder_state"] == "accepted"  # Thursday's reminder 1 was sent

    async def test_a_new_practitioner_rewrites_the_pending_texts(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        start = oslo(2026, 12, 10, 12, 0)
        await put_appointment(client, clinic, "A1", start=start)
        await put_appointment(client, clinic, "A1", start=start, practitioner="Tannpleier Ås")
        messages = await messages_of(client, clinic, "A1", status="pending")
        assert [m["practitioner"] for m in messages] == ["Tannpleier Ås"]
        assert "Tannpleier Ås" in messages[0]["text"]


class TestCancel:
    async def test_cancels_pending_and_confirms_the_cancellation(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, **TWO_REMINDERS)
        start = oslo(2026, 12, 10, 12, 0)
        await put_appointment(client, clinic, "A1", start=start)
        clock.advance(hours=1)
        body = await put_appointment(client, clinic, "A1", start=start, status="cancelled")
        assert body["status"] == "cancelled"
        messages = await messages_of(client, clinic, "A1")
        assert {(m["type"], m["status"]) for m in messages} == {
            ("reminder_1", "cancelled"),
            ("reminder_2", "cancelled"),
            ("booking_confirmation", "cancelled"),
            ("cancellation_confirmation", "pending"),
        }
        confirmation = by_type(messages)["cancellation_confirmation"]
        assert confirmation["scheduled_for"] == z(clock.now())
        assert confirmation["text"].startswith(
            "Hei Kari! Timen du hadde hos Tannlege Hansen torsdag 10. desember kl. 12:00"
        )
        again = await put_appointment(client, clinic, "A1", start=start, status="cancelled")
        assert len(await messages_of(client, clinic, "A1")) == 4
        assert again == body

    async def test_booked_again_at_the_same_time_gets_its_messages_anew(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, **TWO_REMINDERS)
        start = oslo(2026, 12, 10, 12, 0)
        await put_appointment(client, clinic, "A1", start=start)
        await put_appointment(client, clinic, "A1", start=start, status="cancelled")
        clock.advance(hours=1)
        body = await put_appointment(client, clinic, "A1", start=start, status="booked")
        pending = [m for m in await messages_of(client, clinic, "A1") if m["status"] == "pending"]
        assert sorted(m["type"] for m in pending) == [
            "booking_confirmation",
            "reminder_1",
            "reminder_2",
        ]
        assert body["reminder_state"] == "scheduled"

        # Cancelled again before its first confirmation went: it is sent this time.
        await put_appointment(client, clinic, "A1", start=start, status="cancelled")
        pending = [m for m in await messages_of(client, clinic, "A1") if m["status"] == "pending"]
        assert [m["type"] for m in pending] == ["cancellation_confirmation"]

    async def test_a_message_cancelled_by_hand_is_not_made_again(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, reminder_1={"enabled": True, "hours_before": 24})
        start = oslo(2026, 12, 10, 12, 0)
        await put_appointment(client, clinic, "A1", start=start)
        [reminder] = await messages_of(client, clinic, "A1")
        cancel = await client.post(f"/v1/messages/{reminder['id']}/cancel", headers=clinic.headers)
        assert cancel.status_code == 200, cancel.text
        await put_appointment(client, clinic, "A1", start=start, practitioner="Tannlege Berg")
        assert [m["status"] for m in await messages_of(client, clinic, "A1")] == ["cancelled"]

    async def test_without_the_rule_only_cancels(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        start = oslo(2026, 12, 10, 12, 0)
        await put_appointment(client, clinic, "A1", start=start)
        await put_appointment(client, clinic, "A1", start=start, status="cancelled")
        assert [m["status"] for m in await messages_of(client, clinic, "A1")] == ["cancelled"]

    async def test_a_hand_made_message_for_the_appointment_is_cancelled_too(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        start = oslo(2026, 12, 10, 12, 0)
        await put_appointment(client, clinic, "A1", start=start)
        notice = await client.post(
            "/v1/messages",
            headers=clinic.headers,
            json={"patient_no": "1001", "template_type": "notice", "appointment_id": "A1"},
        )
        assert notice.status_code == 201, notice.text
        await put_appointment(client, clinic, "A1", start=start, status="no_show")
        assert {m["status"] for m in await messages_of(client, clinic, "A1")} == {"cancelled"}


class TestComplete:
    async def test_schedules_the_thank_you(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, **TWO_REMINDERS)
        start = oslo(2026, 11, 30, 13, 0)
        end = start + timedelta(minutes=45)
        await put_appointment(client, clinic, "A1", start=start, end=end)
        clock.set(end + timedelta(minutes=10))
        body = await put_appointment(client, clinic, "A1", start=start, end=end, status="completed")
        thank_you = by_type(await messages_of(client, clinic, "A1"))["thank_you"]
        assert thank_you["scheduled_for"] == utc(end + timedelta(hours=2))
        assert thank_you["text"].startswith("Hei Kari! Takk for at du var hos oss.")
        assert [e["kind"] for e in body["schedule"] if e["state"] == "scheduled"] == ["thank_you"]
        await put_appointment(client, clinic, "A1", start=start, end=end, status="completed")
        types = [m["type"] for m in await messages_of(client, clinic, "A1")]
        assert types.count("thank_you") == 1

    async def test_completed_again_after_a_mistaken_re_booking_thanks_again(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, thank_you={"enabled": True, "hours_after": 2})
        start = oslo(2026, 11, 30, 13, 0)
        end = start + timedelta(minutes=45)
        clock.set(end + timedelta(minutes=10))
        for status in ("completed", "booked", "completed"):
            await put_appointment(client, clinic, "A1", start=start, end=end, status=status)
        thanks = [m for m in await messages_of(client, clinic, "A1") if m["type"] == "thank_you"]
        assert sorted(m["status"] for m in thanks) == ["cancelled", "pending"]

    async def test_a_thank_you_due_in_the_night_goes_in_the_morning(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, thank_you={"enabled": True, "hours_after": 2})
        start, end = oslo(2026, 11, 30, 19, 0), oslo(2026, 11, 30, 20, 0)
        clock.set(end)
        await put_appointment(client, clinic, "A1", start=start, end=end, status="completed")
        thank_you = by_type(await messages_of(client, clinic, "A1"))["thank_you"]
        assert thank_you["scheduled_for"] == utc(oslo(2026, 12, 1, 8, 0))


class TestStates:
    async def test_every_state_through_the_api(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        start = oslo(2026, 12, 2, 12, 0)  # Wednesday: reminder on Tuesday 12:00

        async def state() -> str:
            response = await client.get("/v1/appointments/A1", headers=clinic.headers)
            value: str = response.json()["reminder_state"]
            return value

        await put_appointment(client, clinic, "A1", start=start)
        assert await state() == "scheduled"
        clock.set(oslo(2026, 12, 1, 12, 0))
        await send_due(sessionmaker, clock)
        assert await state() == "accepted"
        clock.advance(hours=2)
        assert await state() == "awaiting_delivery"
        clock.set(start - timedelta(hours=3))
        assert await state() == "at_risk"
        [reminder] = await messages_of(client, clinic, "A1")
        await set_delivery(sessionmaker, reminder["id"], "unknown")
        assert await state() == "sent_unconfirmed"
        await set_delivery(sessionmaker, reminder["id"], "delivered")
        assert await state() == "delivered"
        await set_delivery(sessionmaker, reminder["id"], "undelivered")
        assert await state() == "failed"

    async def test_state_none_when_no_reminder_is_wanted(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, reminder_1={"enabled": False, "hours_before": 24})
        body = await put_appointment(client, clinic, "A1", start=oslo(2026, 12, 2, 12, 0))
        assert (body["reminder_state"], body["schedule"]) == ("none", [])


def _json(response: httpx.Response) -> Json:
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body
