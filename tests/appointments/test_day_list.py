"""`GET /v1/appointments?date=` answers each appointment of the day exactly as
`GET /v1/appointments/{id}` does, field by field, over a day of every kind of reminder state:
scheduled, sent, delivered, skipped, moved, cancelled and confirmed. The list is built for
hundreds of appointments at once (issue 15 §2); this holds it to the single answer."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.appointments.models import Appointment
from app.core.clock import FixedClock
from tests.appointments.conftest import (
    Json,
    messages_of,
    put_appointment,
    put_rules,
    send_due,
    set_delivery,
    z,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

OSLO = ZoneInfo("Europe/Oslo")
pytestmark = pytest.mark.usefixtures("patient", "sender")

RULES = {
    "reminder_1": {"enabled": True, "hours_before": 48},
    "reminder_2": {"enabled": True, "hours_before": 24},
    "booking_confirmation": True,
    "cancellation_confirmation": True,
    "thank_you": {"enabled": True, "hours_after": 2},
}


def thursday(hour: int) -> datetime:
    return datetime(2026, 12, 3, hour, 0, tzinfo=OSLO)


async def _a_day_of_every_state(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Thursday's appointments, seen early on Thursday: some of their messages sent."""

    async def push(appointment_id: str, start: datetime, **fields: Any) -> None:
        patient_no = PATIENTS[appointment_id]
        await put_appointment(
            client, clinic, appointment_id, start=start, patient_no=patient_no, **fields
        )

    await put_rules(client, clinic, **RULES)
    for patient_no in sorted(set(PATIENTS.values()) - {"1001", "1002"}):
        await put_patient(client, clinic, patient_no, wants_sms=True, mobile=f"9123{patient_no}")
    await put_patient(client, clinic, "1002", mobile=None)
    await push("UNDELIVERED", thursday(8))
    await push("SENT", thursday(9))
    await push("DELIVERED", thursday(10))
    await push("OFF", thursday(11), sms_reminders=False)
    await push("NO_MOBILE", thursday(12))
    await push("MOVED", thursday(13) - timedelta(days=1))
    await push("CANCELLED", thursday(14))
    await push("CONFIRMED", thursday(15))
    await push("FRIDAY", thursday(9) + timedelta(days=1))
    await send_due(sessionmaker, clock)  # the booking confirmations
    clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=OSLO))
    await send_due(sessionmaker, clock)  # reminder 1 of SENT and DELIVERED, MOVED's old one
    await push("MOVED", thursday(13))
    await push("CANCELLED", thursday(14), status="cancelled")
    await push("LATE", thursday(16))
    await push("SHARED", thursday(17))  # LATE's patient: one reminder for both
    clock.set(datetime(2026, 12, 1, 16, 30, tzinfo=OSLO))
    await send_due(sessionmaker, clock)  # reminder 1 of LATE and of MOVED's new start
    for appointment_id, delivery in DELIVERIES.items():
        [sent] = [
            m["id"]
            for m in await messages_of(client, clinic, appointment_id)
            if m["status"] == "sent" and m["type"] == "reminder_1"
        ]
        await set_delivery(sessionmaker, sent, delivery)
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Appointment)
            .where(col(Appointment.appointment_id) == "CONFIRMED")
            .values(confirmation="confirmed", confirmation_at=clock.now())
        )
    clock.set(thursday(6))


# Each appointment's patient; LATE and SHARED share one.
PATIENTS = {
    "SENT": "1001",
    "FRIDAY": "1001",
    "NO_MOBILE": "1002",
    "DELIVERED": "1003",
    "OFF": "1004",
    "MOVED": "1005",
    "CANCELLED": "1006",
    "CONFIRMED": "1007",
    "LATE": "1008",
    "SHARED": "1008",
    "UNDELIVERED": "1009",
}
# Each appointment's reminder 1 as the provider last reported it.
DELIVERIES = {
    "SENT": "accepted",  # 3 h to go: at risk
    "DELIVERED": "delivered",
    "UNDELIVERED": "undelivered",
    "CONFIRMED": "unknown",
    "LATE": "accepted",  # 10 h to go, sent long ago: awaiting delivery
}


def _summary(appointment: Json) -> tuple[Any, ...]:
    return (
        appointment["appointment_id"],
        appointment["reminder_state"],
        appointment["reminder_skip_reason"],
        [
            (s["kind"], s["state"], s["reason"], len(s["message_ids"]))
            for s in appointment["schedule"]
        ],
    )


async def test_each_appointment_as_its_own_answer_field_by_field(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _a_day_of_every_state(client, clinic, clock, sessionmaker)
    response = await client.get(
        "/v1/appointments", headers=clinic.headers, params={"date": "2026-12-03"}
    )
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    for appointment in listed:
        single = await client.get(
            f"/v1/appointments/{appointment['appointment_id']}", headers=clinic.headers
        )
        assert single.status_code == 200, single.text
        assert list(appointment) == list(single.json())
        for name, value in single.json().items():
            assert appointment[name] == value, (appointment["appointment_id"], name)
    assert [_summary(a) for a in listed] == EXPECTED
    by_id = {a["appointment_id"]: a for a in listed}
    # One reminder for LATE and SHARED, the patient's two appointments that day.
    assert by_id["LATE"]["schedule"][0] == by_id["SHARED"]["schedule"][0]
    confirmed = by_id["CONFIRMED"]
    assert confirmed["confirmation"] == "confirmed"
    assert confirmed["confirmation_at"] == z(datetime(2026, 12, 1, 15, 30, tzinfo=UTC))


async def test_the_schedule_names_the_messages_and_their_times(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _a_day_of_every_state(client, clinic, clock, sessionmaker)
    response = await client.get(
        "/v1/appointments", headers=clinic.headers, params={"date": "2026-12-03"}
    )
    for appointment in response.json()["data"]:
        messages = {
            m["id"]: m for m in await messages_of(client, clinic, appointment["appointment_id"])
        }
        for entry in appointment["schedule"]:
            mine = [messages[i] for i in entry["message_ids"]]
            assert all(m["type"] == entry["kind"] and m["status"] != "cancelled" for m in mine)
            waiting = [m["scheduled_for"] for m in mine if m["status"] == "pending"]
            sent = [m["sent_at"] for m in mine if m["sent_at"] is not None]
            assert entry["scheduled_for"] == min(waiting, default=None)
            assert entry["sent_at"] == max(sent, default=None)


# (appointment, reminder state, its skip reason, [(kind, state, reason, messages)])
SCHEDULED_2 = ("reminder_2", "scheduled", None, 1)
AWAITING = "awaiting_delivery"
EXPECTED: list[tuple[Any, ...]] = [
    (
        "UNDELIVERED",
        "failed",
        None,
        [
            ("reminder_1", "failed", None, 1),
            SCHEDULED_2,
            ("booking_confirmation", "at_risk", None, 1),
        ],
    ),
    (
        "SENT",
        "at_risk",
        None,
        [
            ("reminder_1", "at_risk", None, 1),
            SCHEDULED_2,
            ("booking_confirmation", "at_risk", None, 1),
        ],
    ),
    (
        "DELIVERED",
        "delivered",
        None,
        [
            ("reminder_1", "delivered", None, 1),
            SCHEDULED_2,
            ("booking_confirmation", AWAITING, None, 1),
        ],
    ),
    (
        "OFF",
        "skipped",
        "reminders_off",
        [
            ("reminder_1", "skipped", "reminders_off", 0),
            ("reminder_2", "skipped", "reminders_off", 0),
            ("booking_confirmation", AWAITING, None, 1),
        ],
    ),
    (
        "NO_MOBILE",
        "skipped",
        "no_mobile",
        [
            ("reminder_1", "skipped", "no_mobile", 0),
            ("reminder_2", "skipped", "no_mobile", 0),
            ("booking_confirmation", "skipped", "no_mobile", 0),
        ],
    ),
    (
        "MOVED",
        AWAITING,
        None,
        [
            ("reminder_1", AWAITING, None, 1),
            SCHEDULED_2,
            ("booking_confirmation", AWAITING, None, 1),
        ],
    ),
    (
        "CANCELLED",
        "none",
        None,
        [
            ("booking_confirmation", AWAITING, None, 1),
            ("cancellation_confirmation", AWAITING, None, 1),
        ],
    ),
    (
        "CONFIRMED",
        "sent_unconfirmed",
        None,
        [
            ("reminder_1", "sent_unconfirmed", None, 1),
            SCHEDULED_2,
            ("booking_confirmation", AWAITING, None, 1),
        ],
    ),
    (
        "LATE",
        AWAITING,
        None,
        [
            ("reminder_1", AWAITING, None, 1),
            SCHEDULED_2,
            ("booking_confirmation", AWAITING, None, 1),
        ],
    ),
    (
        "SHARED",
        AWAITING,
        None,
        [
            ("reminder_1", AWAITING, None, 1),
            SCHEDULED_2,
            ("booking_confirmation", AWAITING, None, 1),
        ],
    ),
]
