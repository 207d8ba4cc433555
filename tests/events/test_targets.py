"""In production, events never go into a private network (SSRF)."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.clock import FixedClock
from app.core.config import Environment, Settings
from app.events.targets import Pinned, Resolver, check_public_target, pinned_request
from app.main import create_app
from tests.conftest import ClinicAccess


def resolving_to(*addresses: str) -> Resolver:
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


async def unresolvable(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.20",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::1",
        "fe80::1%eth0",
        "fd00::5",
        "::ffff:127.0.0.1",
    ],
)
async def test_a_name_resolving_to_a_private_address_is_refused(address: str) -> None:
    refusal = await check_public_target("https://pms.example.test/h", resolving_to(address))
    assert refusal is not None
    assert "private address" in refusal


async def test_any_private_address_among_several_is_enough() -> None:
    resolver = resolving_to("93.184.216.34", "10.0.0.8")
    assert await check_public_target("https://pms.example.test/", resolver) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/h",
        "https://[::1]:8443/h",
        "http://localhost:8080/h",
        "https://a.localhost",
    ],
)
async def test_private_hosts_in_the_url_itself_are_refused_without_a_lookup(url: str) -> None:
    assert await check_public_target(url, unresolvable) is not None


async def test_public_hosts_pass_pinned_to_the_checked_address_and_unresolvable_ones_pass() -> None:
    public = resolving_to("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    assert await check_public_target("https://pms.example.test:8443/h", public) == Pinned(
        "93.184.216.34"
    )
    # The POST itself then fails with a connection error, recorded as usual.
    assert await check_public_target("https://nowhere.invalid/", unresolvable) is None


@pytest.mark.parametrize("url", ["https://pms.example.test:99999/h", f"https://{'a' * 64}.test/"])
async def test_a_url_that_cannot_be_resolved_at_all_is_refused_not_a_crash(url: str) -> None:
    async def idna_resolver(host: str, port: int) -> list[str]:
        host.encode("idna")  # what getaddrinfo does first
        return ["93.184.216.34"]

    refusal = await check_public_target(url, idna_resolver)
    assert refusal is not None
    assert "not valid" in refusal


def test_private_urls_are_allowed_by_default_outside_production() -> None:
    assert Settings(environment=Environment.DEVELOPMENT).allows_private_event_urls
    production = Settings(environment=Environment.PRODUCTION, admin_token="a-real-secret")
    assert not production.allows_private_event_urls
    assert production.model_copy(update={"private_event_urls": True}).allows_private_event_urls


class TestSubscribingInProduction:
    @pytest.fixture
    async def app(self, settings: Settings, clock: FixedClock) -> AsyncIterator[FastAPI]:
        app = create_app(settings.model_copy(update={"private_event_urls": False}), clock=clock)
        async with app.router.lifespan_context(app):
            yield app

    @pytest.mark.parametrize(
        "url",
        [
            "https://10.1.2.3/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hooks",
            "http://localhost:8080/hooks",
            "http://127.0.0.1/hooks",
        ],
    )
    async def test_a_private_address_is_a_422_and_nothing_is_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, url: str
    ) -> None:
        response = await client.post(
            "/v1/event-subscriptions",
            headers=clinic.headers,
            json={"url": url, "event_types": ["reply.received"]},
        )
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert (error["field"], error["code"]) == ("url", "private_address")
        listed = await client.get("/v1/event-subscriptions", headers=clinic.headers)
        assert listed.json()["data"] == []

    async def test_a_host_name_is_accepted_and_checked_before_each_post(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.post(
            "/v1/event-subscriptions",
            headers=clinic.headers,
            json={"url": "https://pms.example.test/hooks", "event_types": ["reply.received"]},
        )
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("url", "address", "called", "host"),
    [
        (
            "https://pms.example.test:8443/hooks?x=1",
            "93.184.216.34",
            "https://93.184.216.34:8443/hooks?x=1",
            "pms.example.test:8443",
        ),
        (
            "https://pms.example.test/h",
            "2606:2800:220:1:248:1893:25c8:1946",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/h",
            "pms.example.test",
        ),
    ],
)
def test_a_pinned_request_goes_to_the_address_and_names_the_host(
    url: str, address: str, called: str, host: str
) -> None:
    pinned_url, headers, extensions = pinned_request(url, Pinned(address))
    assert str(pinned_url) == called
    assert headers == {"Host": host}
    assert extensions == {"sni_hostname": "pms.example.test"}
