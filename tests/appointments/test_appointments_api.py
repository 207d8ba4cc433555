"""The appointment routes: input, listing a day, reminders by hand, today's patients,
recipients and skip reasons, and isolation between clinics."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.templates.models import MessageTemplate
from tests.appointments.conftest import (
    Json,
    by_type,
    messages_of,
    patch_settings,
    put_appointment,
    put_rules,
    z,
)
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

OSLO = ZoneInfo("Europe/Oslo")
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=OSLO)
pytestmark = pytest.mark.usefixtures("patient", "sender")


def body(**fields: Any) -> Json:
    return {
        "patient_no": "1001",
        "practitioner": "Tannlege Hansen",
        "start": WEDNESDAY_NOON.isoformat(),
        "end": (WEDNESDAY_NOON + timedelta(minutes=30)).isoformat(),
    } | fields


BAD_APPOINTMENTS: list[tuple[str, Json, str]] = [
    ("unknown patient", body(patient_no="404"), "patient_no"),
    ("end before start", body(end=(WEDNESDAY_NOON - timedelta(hours=1)).isoformat()), "end"),
    ("end equals start", body(end=WEDNESDAY_NOON.isoformat()), "end"),
    ("naive start", body(start="2026-12-02T12:00:00"), "start"),
    ("unknown status", body(status="moved"), "status"),
    ("blank practitioner", body(practitioner="  "), "practitioner"),
    ("unknown field", body(room="3"), "room"),
    ("year one", body(start="0001-01-01T00:30:00+01:00"), "start"),
    ("year 9999", body(start="9999-12-31T20:00:00Z", end="9999-12-31T21:00:00Z"), "start"),
]


class TestBadInput:
    @pytest.mark.parametrize(
        ("payload", "field"),
        [(b, f) for _, b, f in BAD_APPOINTMENTS],
        ids=[name for name, _, _ in BAD_APPOINTMENTS],
    )
    async def test_422_naming_the_field_and_nothing_written(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, payload: Json, field: str
    ) -> None:
        response = await client.put("/v1/appointments/A1", headers=clinic.headers, json=payload)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [error["field"] for error in response.json()["errors"]]
        missing = await client.get("/v1/appointments/A1", headers=clinic.headers)
        assert missing.status_code == 404
        assert await messages_of(client, clinic, "A1") == []

    async def test_an_update_to_an_unknown_patient_changes_nothing(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        before = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        response = await client.put(
            "/v1/appointments/A1",
            headers=clinic.headers,
            json=body(patient_no="404", start=(WEDNESDAY_NOON + timedelta(days=1)).isoformat()),
        )
        assert response.status_code == 422
        after = await client.get("/v1/appointments/A1", headers=clinic.headers)
        assert after.json() == before
        assert [m["status"] for m in await messages_of(client, clinic, "A1")] == ["pending"]

    async def test_too_long_an_id_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put(
            f"/v1/appointments/{'x' * 101}", headers=clinic.headers, json=body()
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "appointment_id"


class TestListDay:
    async def test_the_days_appointments_in_the_clinics_zone_with_their_state(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        early = datetime(2026, 12, 2, 0, 30, tzinfo=OSLO)  # 23:30 UTC the day before
        late = datetime(2026, 12, 2, 23, 30, tzinfo=OSLO)
        await put_appointment(client, clinic, "LATE", start=late)
        await put_appointment(client, clinic, "EARLY", start=early)
        await put_appointment(client, clinic, "NOON", start=WEDNESDAY_NOON, practitioner="Dr. Ås")
        await put_appointment(client, clinic, "NEXT", start=late + timedelta(hours=1))
        response = await client.get(
            "/v1/appointments", headers=clinic.headers, params={"date": "2026-12-02"}
        )
        assert response.status_code == 200, response.text
        listed = response.json()["data"]
        assert [a["appointment_id"] for a in listed] == ["EARLY", "NOON", "LATE"]
        assert all(a["reminder_state"] == "scheduled" for a in listed)
        assert listed[0]["patient_no"] == "1001"
        only = await client.get(
            "/v1/appointments",
            headers=clinic.headers,
            params={"date": "2026-12-02", "practitioner": "Dr. Ås"},
        )
        assert [a["appointment_id"] for a in only.json()["data"]] == ["NOON"]

    @pytest.mark.parametrize("day", ["2.12.2026", "9999-12-31", "0001-01-01"])
    async def test_a_bad_date_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, day: str
    ) -> None:
        response = await client.get(
            "/v1/appointments", headers=clinic.headers, params={"date": day}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "date"
        reminders = await client.post(
            "/v1/appointments/reminders", headers=clinic.headers, json={"date": day}
        )
        assert reminders.status_code == 422
        assert reminders.json()["errors"][0]["field"] == "date"


class TestRemindersByHand:
    async def test_each_reminder_gets_an_outcome(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, reminder_2={"enabled": False, "hours_before": 3})
        await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        response = await client.post(
            "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [2, 1]}
        )
        assert response.status_code == 200, response.text
        outcomes = response.json()["outcomes"]
        assert [(o["reminder"], o["outcome"], o["reason"]) for o in outcomes] == [
            (1, "skipped", "duplicate"),
            (2, "queued", None),
        ]
        assert outcomes[1]["scheduled_for"] == z(
            WEDNESDAY_NOON.astimezone(UTC) - timedelta(hours=3)
        )
        again = await client.post(
            "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [2]}
        )
        assert again.json()["outcomes"][0]["reason"] == "duplicate"
        types = sorted(m["type"] for m in await messages_of(client, clinic, "A1"))
        assert types == ["reminder_1", "reminder_2"]

    async def test_a_reminder_whose_time_passed_goes_now(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, reminder_1={"enabled": False, "hours_before": 24})
        start = clock.now() + timedelta(minutes=90)  # inside the min lead: by hand is fine
        await put_appointment(client, clinic, "A1", start=start)
        response = await client.post(
            "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [1]}
        )
        [outcome] = response.json()["outcomes"]
        assert (outcome["outcome"], outcome["scheduled_for"]) == ("queued", z(clock.now()))
        shown = await client.get("/v1/appointments/A1", headers=clinic.headers)
        assert shown.json()["reminder_state"] == "scheduled"

    async def test_cancelled_or_past_is_409_and_nothing_written(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_appointment(client, clinic, "GONE", start=WEDNESDAY_NOON, status="cancelled")
        await put_appointment(client, clinic, "PAST", start=clock.now() - timedelta(hours=2))
        for appointment_id in ("GONE", "PAST"):
            response = await client.post(
                f"/v1/appointments/{appointment_id}/reminders",
                headers=clinic.headers,
                json={"reminders": [1]},
            )
            assert response.status_code == 409, response.text
            assert response.json()["status"] == 409
            assert await messages_of(client, clinic, appointment_id) == []

    async def test_unknown_appointment_is_404_and_bad_numbers_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        missing = await client.post(
            "/v1/appointments/NOPE/reminders", headers=clinic.headers, json={"reminders": [1]}
        )
        assert missing.status_code == 404
        await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        bad = await client.post(
            "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [4]}
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"].startswith("reminders")


class TestTodaysPatients:
    async def test_each_appointment_gets_an_outcome(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await put_rules(client, clinic, reminder_1={"enabled": False, "hours_before": 24})
        await put_patient(client, clinic, "2002", first_name="Ola", mobile=None)
        today = datetime(2026, 11, 30, 15, 0, tzinfo=OSLO)
        await put_appointment(client, clinic, "T1", start=today)
        await put_appointment(client, clinic, "T2", start=today, patient_no="2002")
        await put_appointment(client, clinic, "T3", start=today, status="cancelled")
        await put_appointment(client, clinic, "T0", start=today - timedelta(hours=6))
        request = {"date": "2026-11-30", "template_type": "reminder_2"}
        response = await client.post(
            "/v1/appointments/reminders", headers=clinic.headers, json=request
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert [(o["appointment_id"], o["outcome"], o["reason"]) for o in result["outcomes"]] == [
            ("T0", "skipped", "too_late"),
            ("T1", "queued", None),
            ("T2", "skipped", "no_mobile"),
            ("T3", "skipped", "not_booked"),
        ]
        assert (result["queued"], result["skipped"]) == (1, 3)
        [message] = await messages_of(client, clinic, "T1")
        assert message["type"] == "reminder_2"
        assert message["scheduled_for"] == z(clock.now())
        assert message["expires_at"] == z(today.astimezone(UTC))
        assert "mandag 30. november kl. 15:00" in message["text"]

        again = await client.post(
            "/v1/appointments/reminders",
            headers=clinic.headers,
            json=request | {"appointment_ids": ["T1", "NOPE"]},
        )
        assert [(o["appointment_id"], o["reason"]) for o in again.json()["outcomes"]] == [
            ("T1", "duplicate"),
            ("NOPE", "unknown_appointment"),
        ]

    async def test_a_double_click_sends_one_reminder_each(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        async with sessionmaker() as session:
            if session.get_bind().dialect.name != "postgresql":
                pytest.skip("SQLite takes one writer at a time")
        await put_rules(client, clinic, reminder_1={"enabled": False, "hours_before": 24})
        today = datetime(2026, 11, 30, 15, 0, tzinfo=OSLO)
        for number in range(5):
            await put_appointment(client, clinic, f"T{number}", start=today)
        request = {"date": "2026-11-30", "template_type": "reminder_2"}

        answers = await asyncio.gather(
            *(
                client.post("/v1/appointments/reminders", headers=clinic.headers, json=request)
                for _ in range(2)
            )
        )

        assert [answer.status_code for answer in answers] == [200, 200]
        assert sorted(answer.json()["queued"] for answer in answers) == [0, 5]
        for number in range(5):
            messages = await messages_of(client, clinic, f"T{number}")
            assert [m["type"] for m in messages] == ["reminder_2"]

    async def test_a_notice_to_the_days_patients(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_appointment(client, clinic, "N1", start=WEDNESDAY_NOON)
        response = await client.post(
            "/v1/appointments/reminders",
            headers=clinic.headers,
            json={"date": "2026-12-02", "template_type": "notice"},
        )
        assert response.json()["queued"] == 1
        notice = by_type(await messages_of(client, clinic, "N1"))["notice"]
        assert notice["expires_at"] == z(WEDNESDAY_NOON.astimezone(UTC))

    async def test_sms_switched_off_skips_everyone(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_appointment(client, clinic, "N1", start=WEDNESDAY_NOON)
        await patch_settings(client, clinic, sms_enabled=False)
        response = await client.post(
            "/v1/appointments/reminders",
            headers=clinic.headers,
            json={"date": "2026-12-02", "template_type": "notice"},
        )
        assert response.json()["outcomes"][0]["reason"] == "sms_disabled"


class TestRecipients:
    @pytest.mark.parametrize(
        ("policy", "patient", "queued", "reason"),
        [
            ("all_valid_mobile", {"wants_sms": False}, True, None),
            ("opted_in_only", {"wants_sms": True}, True, None),
            ("opted_in_only", {"wants_sms": False}, False, "no_consent"),
            ("none", {"wants_sms": True}, False, "policy_none"),
            ("all_valid_mobile", {"mobile": None}, False, "no_mobile"),
            ("all_valid_mobile", {"mobile": "22 33 44 55"}, False, "invalid_number"),
        ],
    )
    async def test_policy_and_skip_reasons(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        policy: str,
        patient: Json,
        queued: bool,
        reason: str | None,
    ) -> None:
        await patch_settings(client, clinic, reminder_policy=policy)
        await put_patient(client, clinic, "3003", **patient)
        shown = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON, patient_no="3003")
        assert len(await messages_of(client, clinic, "A1")) == (1 if queued else 0)
        expected = ("scheduled", None) if queued else ("skipped", reason)
        assert (shown["reminder_state"], shown["reminder_skip_reason"]) == expected

    async def test_guardians_with_consent_are_added_per_the_setting(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await patch_settings(client, clinic, include_guardians=True)
        await put_patient(
            client,
            clinic,
            "4004",
            first_name="Ola",
            guardians=[
                {"name": "Mor", "mobile": "+4791111111", "wants_sms": True},
                {"name": "Far", "mobile": "+4792222222", "wants_sms": False},
            ],
        )
        await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON, patient_no="4004")
        messages = await messages_of(client, clinic, "A1")
        assert sorted((m["recipient_role"], m["to"]) for m in messages) == [
            ("guardian", "+4791111111"),
            ("patient", "+4791234567"),
        ]
        texts = {m["recipient_role"]: m["text"] for m in messages}
        # Each reads right to whoever gets it: the guardian by name, Ola in the third person.
        assert texts["patient"].startswith("Hei Ola! Vi minner om at du har time hos")
        assert texts["patient"].endswith("om du ikke kan komme.")
        assert texts["guardian"].startswith("Hei Mor! Vi minner om at Ola har time hos")
        assert texts["guardian"].endswith("om Ola ikke kan komme.")

    async def test_a_fixed_number_lets_the_next_push_schedule_it(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "5005", mobile=None)
        first = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON, patient_no="5005")
        assert first["reminder_skip_reason"] == "no_mobile"
        await put_patient(client, clinic, "5005", mobile="912 34 567")
        again = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON, patient_no="5005")
        assert again["reminder_state"] == "scheduled"

    async def test_policy_none_still_allows_reminders_by_hand(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await patch_settings(client, clinic, reminder_policy="none")
        await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        response = await client.post(
            "/v1/appointments/A1/reminders", headers=clinic.headers, json={"reminders": [1]}
        )
        assert response.json()["outcomes"][0]["outcome"] == "queued"

    async def test_sms_switched_off_is_a_recorded_skip(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await patch_settings(client, clinic, sms_enabled=False)
        shown = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        assert shown["reminder_skip_reason"] == "sms_disabled"

    async def test_a_template_without_a_value_is_a_recorded_skip(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """Saving such a text for a rule that is on is refused now; one saved before that
        is skipped with a reason, never sent with a blank."""
        text = "Hei [Fornavn]! Se [URL]"
        refused = await client.put(
            "/v1/templates/reminder_1",
            headers=clinic.headers,
            json={"text": text, "allow_reply": True},
        )
        assert refused.status_code == 422
        async with sessionmaker.begin() as session:
            await session.execute(
                update(MessageTemplate)
                .where(col(MessageTemplate.clinic_id) == clinic.id)
                .where(col(MessageTemplate.type) == "reminder_1")
                .values(text=text)
            )
        shown = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        assert shown["reminder_skip_reason"] == "template_error"
        assert await messages_of(client, clinic, "A1") == []


class TestIsolation:
    async def test_another_clinics_appointment_is_404_everywhere(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        other = other_clinic.headers
        assert (await client.get("/v1/appointments/A1", headers=other)).status_code == 404
        reminders = await client.post(
            "/v1/appointments/A1/reminders", headers=other, json={"reminders": [1]}
        )
        assert reminders.status_code == 404
        listed = await client.get("/v1/appointments", headers=other, params={"date": "2026-12-02"})
        assert listed.json()["data"] == []
        day = await client.post(
            "/v1/appointments/reminders",
            headers=other,
            json={"date": "2026-12-02", "appointment_ids": ["A1"]},
        )
        assert day.json()["outcomes"][0]["reason"] == "unknown_appointment"
        # The other clinic's patient numbers are its own: 1001 is unknown there.
        pushed = await client.put("/v1/appointments/A1", headers=other, json=body())
        assert pushed.status_code == 422
        preview = await client.post(
            "/v1/templates/reminder_1/preview", headers=other, json={"appointment_id": "A1"}
        )
        assert preview.status_code == 422
        message = await client.post(
            "/v1/messages",
            headers=other,
            json={"to": "+4791234567", "template_type": "reminder_1", "appointment_id": "A1"},
        )
        assert message.status_code == 422  # no appointment there, so no [Tidspunkt]
        rules = await client.get("/v1/reminder-rules", headers=other)
        assert rules.json()["updated_at"] is None

    async def test_the_same_appointment_id_in_two_clinics_is_two_appointments(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await put_patient(client, other_clinic, "1001", first_name="Per")
        await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)
        await put_appointment(client, other_clinic, "A1", start=WEDNESDAY_NOON + timedelta(days=1))
        mine = await client.get("/v1/appointments/A1", headers=clinic.headers)
        assert mine.json()["start"] == z(WEDNESDAY_NOON.astimezone(UTC))
        [message] = await messages_of(client, clinic, "A1")
        assert message["text"].startswith("Hei Kari!")


class TestConcurrency:
    async def test_two_first_pushes_at_once_make_one_appointment(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        async def push() -> int:
            response = await client.put("/v1/appointments/A1", headers=clinic.headers, json=body())
            return response.status_code

        statuses = await asyncio.gather(push(), push())
        assert sorted(statuses) in ([200, 201], [201, 409]), statuses
        assert len(await messages_of(client, clinic, "A1")) == 1
