"""SMS information shows each provider's circuit: closed, open, half-open, and why."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess
from tests.failover.conftest import Providers, dispatch, send


async def _providers(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    response = await client.get("/v1/sms-info", headers=clinic.headers)
    assert response.status_code == 200, response.text
    return {entry["provider"]: entry for entry in response.json()["providers"]}


async def test_each_providers_circuit_and_last_error_are_shown(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    fresh = await _providers(client, failover_clinic)
    assert {name: (p["role"], p["state"]) for name, p in fresh.items()} == {
        "linkmobility": ("primary", "closed"),
        "sinch": ("secondary", "closed"),
    }
    assert fresh["linkmobility"]["last_error"] is None

    providers.link_down()
    for i in range(2):
        await send(client, failover_clinic, f"+479123456{i}")
    await dispatch(sessionmaker, clock, factory)
    shown = await _providers(client, failover_clinic)
    link, sinch = shown["linkmobility"], shown["sinch"]
    assert (link["state"], link["consecutive_failures"]) == ("open", 2)
    assert link["last_error"]["text"].startswith("LINK Mobility: could not connect")
    assert link["last_error"]["at"] == "2026-11-30T10:00:00Z"
    assert link["last_sent_at"] is None
    assert (sinch["state"], sinch["last_sent_at"]) == ("closed", "2026-11-30T10:00:00Z")

    clock.advance(seconds=61)
    assert (await _providers(client, failover_clinic))["linkmobility"]["state"] == "half_open"


async def test_a_clinic_without_a_secondary_shows_its_provider_alone(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    body = (await client.get("/v1/sms-info", headers=clinic.headers)).json()
    assert [(p["provider"], p["role"]) for p in body["providers"]] == [("sandbox", "primary")]
    assert body["reports"] == {"awaiting_report": 0, "no_report": 0}
