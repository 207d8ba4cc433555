"""Rate limits: per API key (the clinic's own limit or the default), the admin token,
provider webhooks (far higher), 429 with Retry-After, and no limit when Redis is down."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from app.core import ratelimit
from app.core.clock import FixedClock
from app.core.config import Settings
from app.core.ratelimit import RequestLimiter
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, ClinicAccess, create_clinic_access
from tests.webhooks.helpers import webhook_path

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LIMIT = 5


@pytest.fixture
async def limited(
    settings: Settings, clock: FixedClock, redis: ArqRedis
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose default limit is LIMIT a minute for keys and the admin token; Redis
    (and so every window) starts empty."""
    app = create_app(
        settings.model_copy(
            update={"rate_limit_per_minute": LIMIT, "admin_rate_limit_per_minute": 50}
        ),
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _messages(client: httpx.AsyncClient, access: ClinicAccess) -> list[Any]:
    listed = await client.get("/v1/messages", headers=access.headers)
    assert listed.status_code == 200, listed.text
    data: list[Any] = listed.json()["data"]
    return data


async def test_past_the_limit_is_429_with_retry_after_and_stores_nothing(
    limited: httpx.AsyncClient,
) -> None:
    access = await create_clinic_access(limited, ADMIN, "Tannlege Berg")
    body = {"to": "+4791234567", "text": "Hei"}
    for _ in range(LIMIT):
        assert (await limited.post("/v1/messages", headers=access.headers, json=body)).is_success
    refused = await limited.post("/v1/messages", headers=access.headers, json=body)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    problem = refused.json()
    assert problem["type"] == "/problems/rate-limited"
    assert f"{LIMIT} requests a minute" in problem["detail"]
    # Listing is refused too now: count what was stored through a fresh key.
    other_key = await limited.post(f"/v1/clinics/{access.id}/api-keys", headers=ADMIN)
    fresh = ClinicAccess(access.id, other_key.json()["key"], access.key_id)
    assert len(await _messages(limited, fresh)) == LIMIT


async def test_one_clinic_at_its_limit_does_not_slow_another(limited: httpx.AsyncClient) -> None:
    busy = await create_clinic_access(limited, ADMIN, "Tannlege Berg")
    quiet = await create_clinic_access(limited, ADMIN, "Smil Tannhelse")
    for _ in range(LIMIT):
        assert (await limited.get("/v1/settings", headers=busy.headers)).status_code == 200
    assert (await limited.get("/v1/settings", headers=busy.headers)).status_code == 429
    for _ in range(LIMIT):
        assert (await limited.get("/v1/settings", headers=quiet.headers)).status_code == 200


async def test_a_clinics_own_limit_replaces_the_default(limited: httpx.AsyncClient) -> None:
    access = await create_clinic_access(limited, ADMIN, "Tannlege Berg")
    patched = await limited.patch(
        "/v1/settings", headers=access.headers, json={"rate_limit_per_minute": 10}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["rate_limit_per_minute"] == 10
    answers = [(await limited.get("/v1/sms-info", headers=access.headers)).status_code]
    answers += [
        (await limited.get("/v1/sms-info", headers=access.headers)).status_code for _ in range(9)
    ]
    # The PATCH counted against the default's window; the new limit has a window of its own.
    assert answers == [200] * 10
    assert (await limited.get("/v1/sms-info", headers=access.headers)).status_code == 429


@pytest.mark.parametrize("value", [9, 6001, 0, -1])
async def test_a_limit_outside_its_bounds_is_422_naming_it(
    client: httpx.AsyncClient, clinic: ClinicAccess, value: int
) -> None:
    for method in ("patch", "put"):
        response = await client.request(
            method, "/v1/settings", headers=clinic.headers, json={"rate_limit_per_minute": value}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "rate_limit_per_minute"
    stored = await client.get("/v1/settings", headers=clinic.headers)
    assert stored.json()["rate_limit_per_minute"] is None


async def test_null_puts_the_clinic_back_on_the_default(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await client.patch("/v1/settings", headers=clinic.headers, json={"rate_limit_per_minute": 100})
    cleared = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"rate_limit_per_minute": None}
    )
    assert cleared.json()["rate_limit_per_minute"] is None


async def test_the_admin_token_has_its_own_limit(
    settings: Settings, clock: FixedClock, redis: ArqRedis
) -> None:
    app = create_app(settings.model_copy(update={"admin_rate_limit_per_minute": 3}), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as admin:
            answers = [
                (await admin.post("/v1/clinics", json={"name": f"K{n}"}, headers=ADMIN))
                for n in range(4)
            ]
            assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
            assert "retry-after" in answers[-1].headers
            listed = await admin.get("/v1/clinics", headers=ADMIN)
            assert listed.status_code == 429


async def test_a_burst_of_delivery_reports_far_over_the_api_limit_is_taken(
    limited: httpx.AsyncClient,
) -> None:
    access = await create_clinic_access(limited, ADMIN, "Tannlege Berg")
    delivery = await webhook_path(limited, access, "linkmobility", "delivery")
    report = {"refId": "unknown-ref", "id": "r", "resultCode": 1001}
    answers = [await limited.post(delivery, json=report) for _ in range(20 * LIMIT)]
    assert {answer.status_code for answer in answers} == {200}, answers[-1].text


async def test_webhooks_stop_at_their_own_limit(
    settings: Settings,
    clock: FixedClock,
    redis: ArqRedis,
    clinic: ClinicAccess,
    client: httpx.AsyncClient,
) -> None:
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    inbound = await webhook_path(client, clinic, "linkmobility", "inbound")
    app = create_app(settings.model_copy(update={"webhook_rate_limit_per_minute": 3}), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as provider:
            report = {"refId": "unknown-ref", "id": "r", "resultCode": 1001}
            codes = [(await provider.post(path, json=report)).status_code for _ in range(3)]
            refused = await provider.post(path, json=report)
            refused_inbound = await provider.post(inbound, json={"source": "+4791234567"})
    assert codes == [200, 200, 200]
    assert refused.status_code == refused_inbound.status_code == 429
    assert "retry-after" in refused.headers
    secret = path.split("/")[4]
    keys = [key.decode() for key in await redis.keys("*")]
    assert keys
    assert not any(secret in key for key in keys)


async def test_without_redis_requests_pass_with_one_warning(
    settings: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(ratelimit.logger, "warning", lambda msg, **_: warnings.append(msg))
    dead = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "admin_rate_limit_per_minute": 1}
    )
    app = create_app(dead, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as admin:
            codes = [(await admin.get("/v1/clinics", headers=ADMIN)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert len(warnings) == 1
    assert "pass unlimited" in warnings[0]


async def test_redis_is_tried_again_after_the_pause() -> None:
    now = [0.0]
    limiter = RequestLimiter("redis://127.0.0.1:1/0", monotonic=lambda: now[0])
    await limiter.check("k", 1)
    paused_until = limiter._paused_until
    now[0] = paused_until - 0.1
    await limiter.check("k", 1)
    assert limiter._paused_until == paused_until
    now[0] = paused_until + 0.1
    await limiter.check("k", 1)
    assert limiter._paused_until > paused_until
    await limiter.aclose()
