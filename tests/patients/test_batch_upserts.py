"""`PUT /v1/patients`: many patients in one request, each with the meaning of the single
PUT, one outcome each in order, and the work done per batch."""

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.batch import MAX_BATCH_ITEMS
from app.patients.models import Patient
from tests.conftest import ClinicAccess
from tests.support.statements import counting

Json = dict[str, Any]


def item(patient_no: str, **fields: Any) -> Json:
    return {
        "patient_no": patient_no,
        "first_name": "Kari",
        "last_name": "Nordmann",
        "mobile": "912 34 567",
        "wants_sms": True,
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
        "/v1/patients", headers=clinic.headers | (headers or {}), json={"patients": items}
    )
    assert response.status_code == expect, response.text
    result: Json = response.json()
    return result


async def get(client: httpx.AsyncClient, clinic: ClinicAccess, patient_no: str) -> Json | None:
    response = await client.get(f"/v1/patients/{patient_no}", headers=clinic.headers)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def outcomes(result: Json) -> list[tuple[int, str | None, str]]:
    return [(r["index"], r["id"], r["outcome"]) for r in result["results"]]


class TestOutcomes:
    async def test_created_updated_unchanged_in_order(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        first = await put_batch(client, clinic, [item("1"), item("2")])
        assert outcomes(first) == [(0, "1", "created"), (1, "2", "created")]
        again = await put_batch(
            client, clinic, [item("2"), item("3"), item("1", mobile="+47 412 34 567")]
        )
        assert outcomes(again) == [(0, "2", "unchanged"), (1, "3", "created"), (2, "1", "updated")]
        assert (again["created"], again["updated"], again["unchanged"]) == (1, 1, 1)
        one = await get(client, clinic, "1")
        assert one is not None
        assert one["mobile"] == "+4741234567"

    async def test_each_is_stored_as_the_single_put_stores_it(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        guardians = [{"name": "Ola Nordmann", "mobile": "+47 412 34 567", "wants_sms": True}]
        fields = {"guardians": guardians, "marketing_consent": True, "recall_due": "2027-06-01"}
        await put_batch(client, clinic, [item("B1", **fields)])
        single = {k: v for k, v in item("S1", **fields).items() if k != "patient_no"}
        response = await client.put("/v1/patients/S1", headers=clinic.headers, json=single)
        assert response.status_code == 201
        batch, alone = await get(client, clinic, "B1"), await get(client, clinic, "S1")
        assert batch is not None
        assert alone is not None
        for body in (batch, alone):
            del body["patient_no"], body["created_at"], body["updated_at"]
        assert batch == alone
        assert batch["recall"]["due_date"] == "2027-06-01"

    async def test_a_new_recall_date_is_an_update_and_the_same_push_twice_is_not(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_batch(client, clinic, [item("1", recall_due="2027-06-01")])
        same = await put_batch(client, clinic, [item("1", recall_due="2027-06-01")])
        assert outcomes(same) == [(0, "1", "unchanged")]
        moved = await put_batch(client, clinic, [item("1", recall_due="2027-09-01")])
        assert outcomes(moved) == [(0, "1", "updated")]
        patient = await get(client, clinic, "1")
        assert patient is not None
        assert patient["recall"]["due_date"] == "2027-09-01"


class TestItemErrors:
    async def test_a_bad_item_is_refused_with_its_field_and_the_others_land(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        items = [
            item("1"),
            item("2", mobile="12"),
            item("3", guardians=[{"name": "Ola", "mobile": "abc"}]),
            item("4", first_name=""),
            item("1"),
            item("5"),
        ]
        result = await put_batch(client, clinic, items)
        assert [r["outcome"] for r in result["results"]] == [
            "created", "error", "error", "error", "error", "created",
        ]  # fmt: skip
        fields = [[e["field"] for e in r["errors"]] for r in result["results"]]
        assert fields[1:5] == [
            ["patients.1.mobile"],
            ["patients.2.guardians.0.mobile"],
            ["patients.3.first_name"],
            ["patients.4.patient_no"],
        ]
        for refused in ("2", "3", "4"):
            assert await get(client, clinic, refused) is None
        async with sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Patient)) == 2

    async def test_over_a_thousand_is_refused_and_nothing_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        items = [item(str(n)) for n in range(MAX_BATCH_ITEMS + 1)]
        result = await put_batch(client, clinic, items, expect=422)
        assert result["errors"][0]["field"] == "patients"
        assert await get(client, clinic, "0") is None

    async def test_malformed_json_is_a_problem(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put(
            "/v1/patients",
            headers=clinic.headers | {"content-type": "application/json"},
            content=b'{"patients": [',
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"


class TestIdempotencyAndScope:
    async def test_the_same_key_replays_the_first_answer(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        key = {"Idempotency-Key": "register-1"}
        first = await put_batch(client, clinic, [item("1")], headers=key)
        replay = await put_batch(client, clinic, [item("1")], headers=key)
        assert replay == first
        assert outcomes(replay) == [(0, "1", "created")]

    async def test_another_clinics_patient_of_the_same_number_is_untouched(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await put_batch(client, other_clinic, [item("1")])
        before = await get(client, other_clinic, "1")
        result = await put_batch(client, clinic, [item("1", first_name="Per")])
        assert outcomes(result) == [(0, "1", "created")]
        assert await get(client, other_clinic, "1") == before


class TestFollowUps:
    async def test_a_changed_number_reaches_pending_messages(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_batch(client, clinic, [item("1")])
        response = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"sender_name": "Tannlege"}
        )
        assert response.status_code == 200, response.text
        sent = await client.post(
            "/v1/messages",
            headers=clinic.headers,
            json={"patient_no": "1", "text": "Hei Kari"},
        )
        assert sent.status_code == 201, sent.text
        await put_batch(client, clinic, [item("1", mobile="+47 412 34 567")])
        listed = await client.get("/v1/messages", headers=clinic.headers)
        assert [m["to"] for m in listed.json()["data"]] == ["+4741234567"]


async def test_the_statements_do_not_grow_with_the_batch(
    client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine
) -> None:
    async def statements_for(prefix: str, size: int) -> int:
        new = [item(f"{prefix}{n}", recall_due="2027-06-01") for n in range(size)]
        with counting(engine) as created:
            await put_batch(client, clinic, new)
        changed = [item(f"{prefix}{n}", recall_due="2027-07-01") for n in range(size)]
        with counting(engine) as updated:
            await put_batch(client, clinic, changed)
        return max(len(created), len(updated))

    small, large = await statements_for("S", 10), await statements_for("L", 100)
    assert large <= small + 2, (small, large)
