from typing import Any

import httpx
import pytest

from tests.conftest import ClinicAccess


async def put_patient(
    client: httpx.AsyncClient, clinic: ClinicAccess, patient_no: str, **fields: Any
) -> dict[str, Any]:
    body = {"first_name": "Kari", "last_name": "Nordmann", "mobile": "912 34 567"} | fields
    response = await client.put(f"/v1/patients/{patient_no}", headers=clinic.headers, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def patient(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    return await put_patient(client, clinic, "1001", wants_sms=True)
