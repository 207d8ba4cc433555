"""A secondary provider in the clinic's settings: its own sealed credentials, checked."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import ClinicAccess

SINCH_CREDENTIALS = {"service_plan_id": "plan-1", "api_token": "sinch-secret-token"}


async def _get(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    response = await client.get("/v1/settings", headers=clinic.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_secondary_with_its_credentials_is_kept_sealed_and_shown_with_its_urls(
    client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine
) -> None:
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={
            "provider": "linkmobility",
            "secondary_provider": "sinch",
            "provider_credentials": {"sinch": SINCH_CREDENTIALS},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["secondary_provider"] == "sinch"
    assert body["credentials_set"]["sinch"] == ["api_token", "service_plan_id"]
    assert "sinch-secret-token" not in response.text
    assert body["secondary_webhook_urls"]["delivery"].startswith(
        "https://sms.example.test/v1/webhooks/sinch/"
    )
    assert body["webhook_urls"]["delivery"].startswith(
        "https://sms.example.test/v1/webhooks/linkmobility/"
    )
    async with engine.connect() as connection:
        [(stored,)] = (
            await connection.execute(text("SELECT provider_credentials FROM clinic_settings"))
        ).all()
    assert "sinch-secret-token" not in stored
    assert "plan-1" not in stored

    cleared = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"secondary_provider": None}
    )
    assert cleared.json()["secondary_provider"] is None
    assert cleared.json()["secondary_webhook_urls"] is None


REFUSED = [
    ({"provider": "sinch", "secondary_provider": "sinch"}, "must differ from provider"),
    ({"provider": "sinch", "secondary_provider": "sandbox"}, "cannot take over"),
    ({"provider": "sinch", "secondary_provider": "telenor"}, "Input should be"),
    ({"provider": "linkmobility", "secondary_provider": "twilio"}, "account_sid, auth_token"),
    (
        {
            "provider": "linkmobility",
            "secondary_provider": "sinch",
            "provider_credentials": {"sinch": {"service_plan_id": "plan-1"}},
        },
        "api_token",
    ),
]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(("body", "reason"), REFUSED, ids=[str(b) for b, _ in REFUSED])
async def test_a_secondary_that_could_not_take_over_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    method: str,
    body: dict[str, Any],
    reason: str,
) -> None:
    before = await _get(client, clinic)
    response = await client.request(
        method.upper(), "/v1/settings", headers=clinic.headers, json=body
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "secondary_provider"
    assert reason in error["reason"]
    assert await _get(client, clinic) == before
