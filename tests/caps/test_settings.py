"""The caps in /v1/settings: defaults, changes, and a 422 naming the field."""

from typing import Any

import httpx
import pytest

from tests.conftest import ClinicAccess


async def current(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    response = await client.get("/v1/settings", headers=clinic.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_new_clinic_has_no_spend_cap_and_three_a_day(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    settings = await current(client, clinic)
    assert settings["monthly_spend_cap"] is None
    assert settings["max_per_patient_per_day"] == 3
    assert settings["cap_exempts_service"] is True


async def test_the_caps_are_set_and_cleared(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    changes = {
        "monthly_spend_cap": "1500.00",
        "max_per_patient_per_day": 5,
        "cap_exempts_service": False,
    }
    response = await client.patch("/v1/settings", headers=clinic.headers, json=changes)
    assert response.status_code == 200, response.text
    settings = await current(client, clinic)
    assert {name: settings[name] for name in changes} == changes
    cleared = {"monthly_spend_cap": None, "max_per_patient_per_day": None}
    response = await client.patch("/v1/settings", headers=clinic.headers, json=cleared)
    assert response.status_code == 200, response.text
    assert {name: (await current(client, clinic))[name] for name in cleared} == cleared


async def test_a_put_leaving_them_out_takes_the_defaults(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await client.patch("/v1/settings", headers=clinic.headers, json={"max_per_patient_per_day": 7})
    response = await client.put("/v1/settings", headers=clinic.headers, json={})
    assert response.status_code == 200, response.text
    assert response.json()["max_per_patient_per_day"] == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monthly_spend_cap", "-1"),
        ("monthly_spend_cap", "0"),
        ("monthly_spend_cap", "10.005"),
        ("monthly_spend_cap", "many"),
        ("max_per_patient_per_day", 0),
        ("max_per_patient_per_day", 51),
        ("max_per_patient_per_day", "three"),
        ("cap_exempts_service", None),
        ("cap_exempts_service", "maybe"),
    ],
)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_a_bad_value_is_a_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, clinic: ClinicAccess, field: str, value: Any, method: str
) -> None:
    before = await current(client, clinic)
    response = await client.request(
        method, "/v1/settings", headers=clinic.headers, json={field: value}
    )
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await current(client, clinic) == before
