"""One appointment without reminders (issue 12 §4): `sms_reminders: false` means no automatic
reminders, waiting ones are cancelled with a reason, confirmations follow their own rules,
and true again schedules the reminders by the usual rules (pauses, minimum lead time)."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.appointments.models import AppointmentStatus
from app.appointments.scheduling import Kind, Push, Rules, Window, plan
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

OSLO = ZoneInfo("Europe/Oslo")
TUESDAY_1300 = datetime(2026, 12, 1, 13, 0, tzinfo=OSLO)  # the clock starts Monday 11:00
RULES: Json = {
    "reminder_1": {"enabled": True, "hours_before": 24},
    "booking_confirmation": True,
    "cancellation_confirmation": True,
}

pytestmark = pytest.mark.usefixtures("patient", "sender")


def _schedule(body: Json) -> dict[str, tuple[str, Any]]:
    return {entry["kind"]: (entry["state"], entry["reason"]) for entry in body["schedule"]}


async def test_off_from_the_start_no_reminder_but_the_booking_confirmation(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_rules(client, clinic, **RULES)
    body = await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    assert body["sms_reminders"] is False
    assert (body["reminder_state"], body["reminder_skip_reason"]) == ("skipped", "reminders_off")
    assert _schedule(body) == {
        "reminder_1": ("skipped", "reminders_off"),
        "booking_confirmation": ("scheduled", None),
    }
    assert set(by_type(await messages_of(client, clinic, "A1"))) == {"booking_confirmation"}


async def test_switched_off_cancels_the_waiting_reminders_with_a_reason(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_rules(client, clinic, **RULES)
    await put_appointment(client, clinic, "A1", start=TUESDAY_1300)
    reminder = by_type(await messages_of(client, clinic, "A1"))["reminder_1"]
    body = await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    messages = {m["id"]: m for m in await messages_of(client, clinic, "A1")}
    assert (messages[reminder["id"]]["status"], messages[reminder["id"]]["failure_reason"]) == (
        "cancelled",
        "reminders_off",
    )
    assert set(by_type(list(messages.values()))) == {"booking_confirmation"}  # not sent again
    assert _schedule(body)["reminder_1"] == ("skipped", "reminders_off")
    [event] = [e.data for e in await recorded(sessionmaker)]
    assert (event["message_id"], event["status_code"], event["failure_reason"]) == (
        reminder["id"],
        "A",
        "reminders_off",
    )
    again = await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    assert again == body


async def test_on_again_schedules_by_the_usual_rules(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    """Its time (Monday 13:00) has passed and it is 21:30, in the night pause: the reminder
    goes when the night ends, still before the appointment."""
    await put_rules(client, clinic, **RULES)
    await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    clock.set(datetime(2026, 11, 30, 21, 30, tzinfo=OSLO).astimezone(UTC))
    body = await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=True)
    reminder = by_type(await messages_of(client, clinic, "A1"))["reminder_1"]
    morning = datetime(2026, 12, 1, 8, 0, tzinfo=OSLO)
    assert reminder["scheduled_for"] == z(morning.astimezone(UTC))
    assert _schedule(body)["reminder_1"] == ("scheduled", None)
    assert set(by_type(await messages_of(client, clinic, "A1"))) == {
        "booking_confirmation",
        "reminder_1",
    }


async def test_on_again_within_the_minimum_lead_time_is_skipped(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    await put_rules(client, clinic, **RULES)
    await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    clock.set((TUESDAY_1300 - timedelta(hours=1)).astimezone(UTC))
    body = await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=True)
    assert _schedule(body)["reminder_1"] == ("skipped", "within_min_lead")
    assert "reminder_1" not in by_type(await messages_of(client, clinic, "A1"))


async def test_the_cancellation_confirmation_still_goes(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await put_rules(client, clinic, **RULES)
    await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    await send_due(sessionmaker, clock)  # the booking confirmation
    await put_appointment(
        client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False, status="cancelled"
    )
    pending = by_type(await messages_of(client, clinic, "A1"))
    assert set(pending) == {"cancellation_confirmation"}


async def test_a_reminder_by_hand_still_goes(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    """The tick is about automatic reminders; staff may still send one."""
    await put_rules(client, clinic, **RULES)
    await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    response = await client.post(
        "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [1]}
    )
    assert response.json()["outcomes"][0]["outcome"] == "queued"
    await put_appointment(client, clinic, "A1", start=TUESDAY_1300, sms_reminders=False)
    assert "reminder_1" in by_type(await messages_of(client, clinic, "A1"))  # still waiting


async def test_it_must_be_a_boolean(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.put(
        "/v1/appointments/A1",
        headers=clinic.headers,
        json={
            "patient_no": "1001",
            "practitioner": "Tannlege Hansen",
            "start": TUESDAY_1300.isoformat(),
            "end": (TUESDAY_1300 + timedelta(minutes=30)).isoformat(),
            "sms_reminders": "kanskje",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sms_reminders"
    missing = await client.get("/v1/appointments/A1", headers=clinic.headers)
    assert missing.status_code == 404


def test_the_planner_decides_reminders_off_and_leaves_the_confirmation() -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    rules = Rules(
        reminders=[Reminder(1, True, 24, 2), Reminder(2, True, 4, 2, only_if_unconfirmed=True)],
        booking_confirmation=True,
        cancellation_confirmation=False,
        thank_you=False,
        thank_you_hours_after=2,
    )
    push = Push(
        AppointmentStatus.BOOKED,
        TUESDAY_1300,
        TUESDAY_1300 + timedelta(minutes=30),
        None,  # type: ignore[arg-type]
        None,
        sms_reminders=False,
    )
    decisions = plan(push, rules, Window(PauseRules(), OSLO, now), live={}, settled=set())
    assert [(d.kind, d.reason) for d in decisions] == [
        (Kind.REMINDER_1, "reminders_off"),
        (Kind.REMINDER_2, "reminders_off"),
        (Kind.BOOKING_CONFIRMATION, None),
    ]
