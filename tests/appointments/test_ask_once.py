"""Ask again only if unanswered (issue 12 §3): a JA cancels the later reminders that go only
if unconfirmed (reason `confirmed`, with a status event), and a confirmed appointment never
again gets a text that asks for JA, however its reminders are made or moved."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.appointments.models import AppointmentStatus
from app.appointments.scheduling import (
    Kind,
    MessageFacts,
    Push,
    Rules,
    Window,
    cancel_reason,
    plan,
)
from app.core.clock import FixedClock
from app.messages.window import PauseRules
from app.reminder_rules.service import Reminder
from tests.appointments.conftest import (
    Json,
    by_type,
    messages_of,
    put_appointment,
    put_rules,
    send_due,
    z,
)
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import recorded, subscribe
from tests.replies.test_inbound import reply

OSLO = ZoneInfo("Europe/Oslo")
ASK = " Svar JA for å bekrefte eller NEI om du ikke kan komme."
FRIDAY_NOON = datetime(2026, 12, 4, 12, 0, tzinfo=OSLO)
THREE_REMINDERS: Json = {
    "reminder_1": {"enabled": True, "hours_before": 48},
    "reminder_2": {"enabled": True, "hours_before": 24},
    "reminder_3": {"enabled": True, "hours_before": 4},
}

pytestmark = pytest.mark.usefixtures("patient", "sender")


async def _appointment(client: httpx.AsyncClient, clinic: ClinicAccess) -> Json:
    body: Json = (await client.get("/v1/appointments/A1", headers=clinic.headers)).json()
    return body


def _schedule(body: Json) -> dict[str, tuple[str, Any]]:
    return {entry["kind"]: (entry["state"], entry["reason"]) for entry in body["schedule"]}


class TestAJaCancelsTheLaterReminders:
    async def test_with_the_reason_and_a_status_event(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await subscribe(client, clinic, event_types=["message.status_changed"])
        await put_rules(client, clinic, **THREE_REMINDERS)
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON)
        clock.set(FRIDAY_NOON - timedelta(hours=48))
        assert len((await send_due(sessionmaker, clock)).sent) == 1  # reminder 1
        clock.advance(minutes=5)
        await reply(client, clinic, "JA")

        body = await _appointment(client, clinic)
        assert body["confirmation"] == "confirmed"
        assert _schedule(body) == {
            "reminder_1": ("delivered", None),  # answered: it got there
            "reminder_2": ("skipped", "confirmed"),
            "reminder_3": ("skipped", "confirmed"),
        }
        later = [m for m in await messages_of(client, clinic, "A1") if m["type"] != "reminder_1"]
        assert {(m["type"], m["status"], m["failure_reason"]) for m in later} == {
            ("reminder_2", "cancelled", "confirmed"),
            ("reminder_3", "cancelled", "confirmed"),
        }
        events = [e.data for e in await recorded(sessionmaker) if e.data["status"] == "cancelled"]
        assert sorted((e["type"], e["status_code"], e["failure_reason"]) for e in events) == [
            ("reminder_2", "A", "confirmed"),
            ("reminder_3", "A", "confirmed"),
        ]
        clock.set(FRIDAY_NOON - timedelta(hours=1))
        assert (await send_due(sessionmaker, clock)).sent == []

    async def test_a_new_practitioner_after_the_ja_brings_them_not_back(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(client, clinic, **THREE_REMINDERS)
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON)
        clock.set(FRIDAY_NOON - timedelta(hours=48))
        await send_due(sessionmaker, clock)
        await reply(client, clinic, "JA")
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON, practitioner="Dr. Berg")
        assert by_type(await messages_of(client, clinic, "A1")) == {}
        clock.set(FRIDAY_NOON - timedelta(hours=1))
        assert (await send_due(sessionmaker, clock)).sent == []

    async def test_a_move_asks_again_for_the_new_time(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(client, clinic, **THREE_REMINDERS)
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON)
        clock.set(FRIDAY_NOON - timedelta(hours=48))
        await send_due(sessionmaker, clock)
        await reply(client, clinic, "JA")
        moved = await put_appointment(client, clinic, "A1", start=FRIDAY_NOON + timedelta(days=7))
        assert moved["confirmation"] is None
        pending = by_type(await messages_of(client, clinic, "A1"))
        assert set(pending) == {"reminder_1", "reminder_2", "reminder_3"}
        assert all(message["text"].endswith(ASK) for message in pending.values())


class TestAConfirmedAppointmentIsNotAskedAgain:
    async def test_reminders_that_still_go_are_made_again_without_asking(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        """The JA comes to the booking confirmation. Reminder 1 (which always goes) and
        reminder 2 (set to go even if confirmed) keep their times across the spring DST
        change and the night and weekend pauses, and no longer ask."""
        clock.set(datetime(2027, 3, 25, 10, 0, tzinfo=UTC))  # Thursday 11:00 CET
        start = datetime(2027, 3, 29, 8, 30, tzinfo=OSLO)  # Monday, CEST
        await put_rules(
            client,
            clinic,
            reminder_1={"enabled": True, "hours_before": 72},
            reminder_2={"enabled": True, "hours_before": 24, "only_if_unconfirmed": False},
            booking_confirmation=True,
        )
        await put_appointment(client, clinic, "A1", start=start)
        before = by_type(await messages_of(client, clinic, "A1"))
        # 72 h before is Friday 07:30 CET, in the night; 24 h before is Sunday 08:30 CEST.
        thursday, friday = (datetime(2027, 3, d, 20, 0, tzinfo=OSLO) for d in (25, 26))
        assert before["reminder_1"]["scheduled_for"] == z(thursday.astimezone(UTC))
        assert before["reminder_2"]["scheduled_for"] == z(friday.astimezone(UTC))
        assert [m.text for m in (await send_due(sessionmaker, clock)).sent] == [
            before["booking_confirmation"]["text"]
        ]
        await reply(client, clinic, "JA")

        messages = await messages_of(client, clinic, "A1")
        cancelled = {m["id"]: m["failure_reason"] for m in messages if m["status"] == "cancelled"}
        assert cancelled == {
            before["reminder_1"]["id"]: "confirmed",
            before["reminder_2"]["id"]: "confirmed",
        }
        after = by_type(messages)
        for kind in ("reminder_1", "reminder_2"):
            assert after[kind]["scheduled_for"] == before[kind]["scheduled_for"]
            assert after[kind]["text"] == before[kind]["text"].removesuffix(ASK)
            assert "JA" not in after[kind]["text"]
        # A new practitioner makes them again, and still they do not ask.
        await put_appointment(client, clinic, "A1", start=start, practitioner="Dr. Berg")
        remade = by_type(await messages_of(client, clinic, "A1"))
        assert set(remade) == {"reminder_1", "reminder_2"}
        for kind, message in remade.items():
            assert message["scheduled_for"] == before[kind]["scheduled_for"]
            assert "Dr. Berg" in message["text"]
            assert "JA" not in message["text"]
        sent: list[str] = []
        for moment in (thursday, friday):
            clock.set(moment.astimezone(UTC))
            sent += [m.text for m in (await send_due(sessionmaker, clock)).sent]
        assert sent == [remade["reminder_1"]["text"], remade["reminder_2"]["text"]]

    async def test_a_reminder_by_hand_does_not_ask(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(client, clinic, **THREE_REMINDERS)
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON)
        clock.set(FRIDAY_NOON - timedelta(hours=48))
        await send_due(sessionmaker, clock)
        await reply(client, clinic, "JA")
        response = await client.post(
            "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [3]}
        )
        assert response.status_code == 200, response.text
        [outcome] = response.json()["outcomes"]
        assert outcome["outcome"] == "queued"
        made = by_type(await messages_of(client, clinic, "A1"))["reminder_3"]
        assert made["text"].startswith("Hei Kari! Husk at du har time hos Tannlege Hansen")
        assert "JA" not in made["text"]

    async def test_a_message_the_practice_sends_does_not_ask(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(client, clinic, booking_confirmation=True)
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON)
        await send_due(sessionmaker, clock)
        await reply(client, clinic, "JA")
        body = {"patient_no": "1001", "template_type": "reminder_2", "appointment_id": "A1"}
        sent = await client.post("/v1/messages", headers=clinic.headers, json=body)
        assert sent.status_code == 201, sent.text
        assert sent.json()["data"][0]["text"] == (
            "Hei Kari! Påminnelse: du har time hos Tannlege Hansen fredag 4. desember kl. 12:00."
        )
        only_asks = {"text": "Svar [Bekreft] om du kommer!", "allow_reply": True}
        await client.put("/v1/templates/reminder_2", headers=clinic.headers, json=only_asks)
        refused = await client.post("/v1/messages", headers=clinic.headers, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["code"] == "confirmed"

    async def test_the_same_ja_twice_changes_nothing(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_rules(client, clinic, booking_confirmation=True)
        await put_appointment(client, clinic, "A1", start=FRIDAY_NOON)
        await send_due(sessionmaker, clock)
        await reply(client, clinic, "JA")
        once = await messages_of(client, clinic, "A1")
        await reply(client, clinic, "ja!")
        assert await messages_of(client, clinic, "A1") == once
        assert by_type(once)["reminder_1"]["text"].endswith("kl. 12:00.")


# --- the pure planner -----------------------------------------------------------------

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
WINDOW = Window(PauseRules(), OSLO, NOW)
RULES = Rules(
    reminders=[
        Reminder(1, True, 48, 2),
        Reminder(2, True, 24, 2, only_if_unconfirmed=True),
        Reminder(3, True, 4, 2, only_if_unconfirmed=False),
    ],
    booking_confirmation=True,
    cancellation_confirmation=False,
    thank_you=False,
    thank_you_hours_after=2,
)


def _push(**fields: Any) -> Push:
    patient = fields.pop("patient_id", None)
    return Push(
        AppointmentStatus.BOOKED,
        FRIDAY_NOON,
        FRIDAY_NOON + timedelta(minutes=30),
        patient,
        None,
        **fields,
    )


def test_a_confirmed_appointment_skips_only_the_reminders_that_wait_for_an_answer() -> None:
    decisions = plan(_push(confirmed=True), RULES, WINDOW, live={}, settled=set())
    assert [(d.kind, d.reason) for d in decisions] == [
        (Kind.REMINDER_1, None),
        (Kind.REMINDER_2, "confirmed"),
        (Kind.REMINDER_3, None),
        (Kind.BOOKING_CONFIRMATION, None),
    ]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (Kind.REMINDER_1, "confirmed"),
        (Kind.BOOKING_CONFIRMATION, "confirmed"),
        (Kind.CANCELLATION_CONFIRMATION, None),
    ],
)
def test_a_fresh_ja_cancels_what_waits_to_ask(kind: Kind, reason: str | None) -> None:
    message = MessageFacts(
        id=uuid.uuid4(),
        type=kind,
        status="pending",
        delivery=None,
        patient_id=None,
        appointment_start_at=FRIDAY_NOON,
        next_attempt_at=NOW,
        sent_at=None,
    )
    assert cancel_reason(message, _push(just_confirmed=True, confirmed=True)) == reason
    assert cancel_reason(message, _push(confirmed=True)) is None
