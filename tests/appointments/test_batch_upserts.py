"""`PUT /v1/appointments`: many appointments in one request, each with the meaning of the
single PUT, one outcome each in order, and the work done per batch."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.batch import MAX_BATCH_ITEMS
from tests.appointments.conftest import Json, messages_of, put_appointment, put_rules, z
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.support.statements import counting

OSLO = ZoneInfo("Europe/Oslo")
THURSDAY_NOON = datetime(2026, 12, 3, 12, 0, tzinfo=OSLO)  # the clock stands on Monday
pytestmark = pytest.mark.usefixtures("patient", "sender")


def item(appointment_id: str, start: datetime = THURSDAY_NOON, **fields: Any) -> Json:
    return {
        "appointment_id": appointment_id,
        "patient_no": "1001",
        "practitioner": "Tannlege Hansen",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "status": "booked",
    } | fields


async def put_batch(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    items: list[Any],
    *,
    expect: int = 200,
    headers: dict[str, str] | None = None,
) -> Json:
    response = await client.put(
        "/v1/appointments",
        headers=clinic.headers | (headers or {}),
        json={"appointments": items},
    )
    assert response.status_code == expect, response.text
    result: Json = response.json()
    return result


def outcomes(result: Json) -> list[tuple[int, str | None, str]]:
    return [(r["index"], r["id"], r["outcome"]) for r in result["results"]]


def pending(messages: list[Json]) -> list[Json]:
    return [m for m in messages if m["status"] == "pending"]


@pytest.fixture(autouse=True)
async def _rules(client: httpx.AsyncClient, clinic: ClinicAccess, sender: None) -> None:
    await put_rules(
        client,
        clinic,
        reminder_1={"enabled": True, "hours_before": 48},
        reminder_2={"enabled": True, "hours_before": 24},
        booking_confirmation=True,
        cancellation_confirmation=True,
    )


class TestOutcomes:
    async def test_created_updated_unchanged_in_order(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        first = await put_batch(client, clinic, [item("A1"), item("A2")])
        assert outcomes(first) == [(0, "A1", "created"), (1, "A2", "created")]
        assert (first["created"], first["updated"], first["unchanged"]) == (2, 0, 0)
        moved = THURSDAY_NOON + timedelta(days=1)
        again = await put_batch(client, clinic, [item("A2"), item("A3"), item("A1", moved)])
        assert outcomes(again) == [
            (0, "A2", "unchanged"),
            (1, "A3", "created"),
            (2, "A1", "updated"),
        ]

    async def test_each_gets_what_the_single_put_gives(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_batch(client, clinic, [item("B1")])
        await put_appointment(client, clinic, "S1", start=THURSDAY_NOON)
        batch, single = (
            await messages_of(client, clinic, "B1"),
            await messages_of(client, clinic, "S1"),
        )
        shape = [(m["type"], m["status"], m["send_after"], m["text"]) for m in batch]
        assert shape == [(m["type"], m["status"], m["send_after"], m["text"]) for m in single]
        assert {m["type"] for m in batch} == {"reminder_1", "reminder_2", "booking_confirmation"}

    async def test_the_same_push_twice_changes_nothing(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        items = [item(f"A{n}", THURSDAY_NOON + timedelta(hours=n)) for n in range(3)]
        await put_batch(client, clinic, items)
        before = [await messages_of(client, clinic, f"A{n}") for n in range(3)]
        again = await put_batch(client, clinic, items)
        assert [r["outcome"] for r in again["results"]] == ["unchanged"] * 3
        assert [await messages_of(client, clinic, f"A{n}") for n in range(3)] == before

    async def test_a_move_re_times_and_a_cancellation_cancels(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        # C1 a week later: on M1's day the two would share their reminders (one per day)
        c1_start = THURSDAY_NOON + timedelta(days=7)
        await put_batch(client, clinic, [item("M1"), item("C1", c1_start)])
        old = {m["id"] for m in await messages_of(client, clinic, "M1")}
        moved = THURSDAY_NOON + timedelta(days=1)
        await put_batch(
            client, clinic, [item("M1", moved), item("C1", c1_start, status="cancelled")]
        )
        m1 = await messages_of(client, clinic, "M1")
        assert {m["id"] for m in m1 if m["status"] == "cancelled"} == old
        reminders = {
            m["type"]: m["expires_at"] for m in pending(m1) if m["type"] != "booking_confirmation"
        }
        assert reminders == {
            "reminder_1": z(moved.astimezone(UTC)),
            "reminder_2": z(moved.astimezone(UTC)),
        }
        c1 = await messages_of(client, clinic, "C1")
        assert [m["type"] for m in pending(c1)] == ["cancellation_confirmation"]


class TestItemErrors:
    async def test_a_bad_item_is_refused_with_its_field_and_the_others_land(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        items = [
            item("G1"),
            item("U1", patient_no="404"),
            item("E1", end=THURSDAY_NOON.isoformat()),
            {"appointment_id": "X1", "patient_no": "1001", "room": "3"},
            item("G1"),
            "not an object",
            item("G2"),
        ]
        result = await put_batch(client, clinic, items)
        assert [r["outcome"] for r in result["results"]] == [
            "created", "error", "error", "error", "error", "error", "created",
        ]  # fmt: skip
        fields = [[e["field"] for e in r["errors"]] for r in result["results"]]
        assert fields[1] == ["appointments.1.patient_no"]
        assert fields[2] == ["appointments.2.end"]
        assert "appointments.3.room" in fields[3]
        assert "appointments.3.start" in fields[3]
        assert fields[4] == ["appointments.4.appointment_id"]
        assert fields[5] == ["appointments.5"]
        assert result["failed"] == 5
        for refused in ("U1", "E1", "X1"):
            response = await client.get(f"/v1/appointments/{refused}", headers=clinic.headers)
            assert response.status_code == 404
            assert await messages_of(client, clinic, refused) == []
        assert len(await messages_of(client, clinic, "G1")) == 3

    @pytest.mark.parametrize("body", [{"appointments": []}, {"appointments": "A1"}, {}])
    async def test_an_unreadable_body_is_a_problem(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, body: Json
    ) -> None:
        response = await client.put("/v1/appointments", headers=clinic.headers, json=body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "appointments"

    async def test_over_a_thousand_is_refused_and_nothing_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        items = [item(f"A{n}") for n in range(MAX_BATCH_ITEMS + 1)]
        result = await put_batch(client, clinic, items, expect=422)
        assert result["errors"][0]["field"] == "appointments"
        assert (await client.get("/v1/appointments/A0", headers=clinic.headers)).status_code == 404


class TestIdempotencyAndScope:
    async def test_the_same_key_replays_the_first_answer(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        key = {"Idempotency-Key": "sync-1"}
        first = await put_batch(client, clinic, [item("A1")], headers=key)
        response = await client.put(
            "/v1/appointments",
            headers=clinic.headers | key,
            json={"appointments": [item("A1")]},
        )
        assert response.json() == first
        assert response.headers["Idempotent-Replayed"] == "true"
        assert outcomes(first) == [(0, "A1", "created")]

    async def test_another_clinics_appointment_of_the_same_id_is_untouched(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await put_patient(client, other_clinic, "1001")
        await put_appointment(client, other_clinic, "A1", start=THURSDAY_NOON)
        before = (await client.get("/v1/appointments/A1", headers=other_clinic.headers)).json()
        result = await put_batch(client, clinic, [item("A1", THURSDAY_NOON + timedelta(days=1))])
        assert outcomes(result) == [(0, "A1", "created")]
        after = (await client.get("/v1/appointments/A1", headers=other_clinic.headers)).json()
        assert after == before

    async def test_another_clinics_patient_is_unknown(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await put_patient(client, other_clinic, "2002")
        result = await put_batch(client, clinic, [item("A1", patient_no="2002")])
        assert result["results"][0]["errors"][0]["code"] == "unknown"


async def test_the_statements_do_not_grow_with_the_batch(
    client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine
) -> None:
    async def statements_for(prefix: str, size: int) -> int:
        new = [item(f"{prefix}{n}", THURSDAY_NOON + timedelta(minutes=n)) for n in range(size)]
        with counting(engine) as created:
            await put_batch(client, clinic, new)
        moved = [
            item(f"{prefix}{n}", THURSDAY_NOON + timedelta(days=1, minutes=n)) for n in range(size)
        ]
        with counting(engine) as updated:
            await put_batch(client, clinic, moved)
        return max(len(created), len(updated))

    small, large = await statements_for("S", 10), await statements_for("L", 100)
    assert large <= small + 2, (small, large)


async def test_a_batchs_new_messages_get_ascending_ids_in_the_order_they_are_stored(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    """Rows stored in the order of their ids go into the indexes that end in the id one
    after the other (`ascending_ids`), as a bulk send's do."""
    numbers = [f"20{n:02d}" for n in range(8)]
    for n, patient_no in enumerate(numbers):
        await put_patient(client, clinic, patient_no, wants_sms=True, mobile=f"+47912340{n:02d}")
    await put_batch(client, clinic, [item(f"P{n}", patient_no=no) for n, no in enumerate(numbers)])
    stored = [
        (message["id"], n)
        for n in range(len(numbers))
        for message in await messages_of(client, clinic, f"P{n}")
    ]
    assert len(stored) == 3 * len(numbers)
    assert [n for _, n in sorted(stored)] == sorted(n for _, n in stored)
