"""A bulk send in batches, each stored while the next is made (app/messages/bulk.py)."""

from typing import Any

import httpx
import pytest

from app.core.errors import InvalidInput
from app.messages import bulk
from app.messages.rows import ascending_ids
from app.patients.models import PatientView
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient


@pytest.fixture(autouse=True)
def batches_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "BATCH", 2)


async def _listed(client: httpx.AsyncClient, clinic: ClinicAccess) -> list[dict[str, Any]]:
    response = await client.get("/v1/messages", headers=clinic.headers)
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_every_batch_is_stored_and_the_outcomes_keep_the_request_order(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    for number in ("1", "2", "3"):
        await put_patient(client, clinic, number, first_name=f"Pasient {number}", wants_sms=True)
    response = await client.post(
        "/v1/messages/bulk",
        headers=clinic.headers,
        json={"patient_nos": ["1", "404", "2", "1", "3"], "text": "Hei [Fornavn]"},
    )
    assert response.status_code == 200, response.text
    outcomes = response.json()["outcomes"]
    assert [(o["patient_no"], o["outcome"], o["reason"]) for o in outcomes] == [
        ("1", "queued", None),
        ("404", "skipped", "unknown_patient"),
        ("2", "queued", None),
        ("1", "skipped", "duplicate"),
        ("3", "queued", None),
    ]
    stored = {m["id"]: (m["patient_no"], m["text"]) for m in await _listed(client, clinic)}
    assert stored == {
        o["message_ids"][0]: (o["patient_no"], f"Hei Pasient {o['patient_no']}")
        for o in outcomes
        if o["outcome"] == "queued"
    }


async def test_a_refusal_in_a_later_batch_stores_nothing_of_the_earlier_ones(
    client: httpx.AsyncClient, clinic: ClinicAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in ("1", "2", "3"):
        await put_patient(client, clinic, number, wants_sms=True)
    rows_for = bulk._Composer.rows_for

    def refusing_3(composer: bulk._Composer, patient: PatientView) -> Any:
        if patient.patient_no == "3":  # after the first batch's INSERT went
            raise InvalidInput.for_field("patient_no", "refused", "refused")
        return rows_for(composer, patient)

    monkeypatch.setattr(bulk._Composer, "rows_for", refusing_3)
    body = {"patient_nos": ["1", "2", "3"], "text": "Hei [Fornavn]"}
    response = await client.post("/v1/messages/bulk", headers=clinic.headers, json=body)
    assert response.status_code == 422, response.text
    assert await _listed(client, clinic) == []
    again = await client.post(
        "/v1/messages/bulk", headers=clinic.headers, json=body | {"patient_nos": ["1", "2"]}
    )
    assert again.json()["queued"] == 2
    assert len(await _listed(client, clinic)) == 2


def test_the_batches_double_from_the_first_up_to_the_largest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "FIRST_BATCH", 1)
    monkeypatch.setattr(bulk, "BATCH", 4)
    patient_nos = [str(number) for number in range(12)]
    batches = list(bulk._batches(patient_nos))
    assert [len(batch) for batch in batches] == [1, 2, 4, 4, 1]
    assert [no for batch in batches for no in batch] == patient_nos


def test_ascending_ids_are_random_version_4_ids_the_first_ones_in_order() -> None:
    ids = ascending_ids(50)
    first = [next(ids) for _ in range(50)]
    assert first == sorted(first)
    more = [next(ids) for _ in range(50)]
    assert len(set(first + more)) == 100
    assert {uuid.version for uuid in first + more} == {4}


async def test_a_bulk_sends_message_ids_ascend_in_the_order_of_its_patients(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    guardian = {"name": "Anne Nordmann", "mobile": "+4791111111", "wants_sms": True}
    for number in ("1", "2", "3", "4", "5"):
        await put_patient(client, clinic, number, wants_sms=True, guardians=[guardian])
    response = await client.post(
        "/v1/messages/bulk",
        headers=clinic.headers,
        json={"patient_nos": ["5", "3", "1", "2", "4"], "text": "Hei", "include_guardians": True},
    )
    assert response.status_code == 200, response.text
    ids = [i for outcome in response.json()["outcomes"] for i in outcome["message_ids"]]
    assert len(ids) == 10
    assert ids == sorted(ids)
