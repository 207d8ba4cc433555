"""Deliveries that the official Standard Webhooks library verifies: posted by our worker
to a practice system on a real socket, at the real time (the library checks the
timestamp against the real clock), with one signature per valid secret during rotation."""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from app.core.clock import FixedClock, SystemClock
from app.events import tasks
from app.events.models import EventSubscription, EventType, event_subscription_table
from app.events.service import ROTATION_GRACE, record_event
from app.events.signing import SECRET_BYTES, generate_secret
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import subscribe
from tests.test_end_to_end import HttpServer, Request


@dataclass
class PracticeSystem:
    received: list[Request] = field(default_factory=list)

    async def handle(self, request: Request) -> tuple[int, bytes]:
        self.received.append(request)
        return 204, b""


@pytest.fixture
def real_time(clock: FixedClock) -> FixedClock:
    clock.set(SystemClock().now())
    return clock


@pytest.fixture
async def practice() -> AsyncIterator[tuple[PracticeSystem, str]]:
    system = PracticeSystem()
    server = HttpServer(system.handle)
    await server.start()
    yield system, f"{server.url}/sms-events"
    await server.stop()


@pytest.fixture
async def ctx(
    sessionmaker: async_sessionmaker[AsyncSession], real_time: FixedClock, redis: ArqRedis
) -> AsyncIterator[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        yield {
            "sessionmaker": sessionmaker,
            "clock": real_time,
            "http": http,
            "redis": redis,
            "random": lambda: 0.5,
        }


async def deliver_every_type(
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: dict[str, Any],
    clinic: ClinicAccess,
    clock: FixedClock,
) -> None:
    async with sessionmaker.begin() as session:
        for event_type in EventType:
            await record_event(
                session,
                clinic_id=clinic.id,
                event_type=event_type,
                data={"reply_id": str(uuid.uuid4()), "text": "Ja, det passer fint 😀"},
                now=clock.now(),
            )
    assert (await tasks.deliver(ctx))["delivered"] == len(EventType)


def verify(secret: str, request: Request) -> Any:
    """What a practice system does with the official library."""
    return Webhook(secret).verify(request.body, request.headers)


def signatures(request: Request) -> list[str]:
    return request.headers["webhook-signature"].split(" ")


async def rotate(client: httpx.AsyncClient, clinic: ClinicAccess, subscription_id: str) -> Any:
    response = await client.post(
        f"/v1/event-subscriptions/{subscription_id}/rotate-secret", headers=clinic.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_secrets_are_whsec_and_the_base64_of_32_random_bytes() -> None:
    issued = {generate_secret() for _ in range(20)}
    assert len(issued) == 20
    for secret in issued:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == SECRET_BYTES


async def test_the_library_verifies_every_delivery(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    real_time: FixedClock,
    ctx: dict[str, Any],
    practice: tuple[PracticeSystem, str],
) -> None:
    system, url = practice
    subscription = await subscribe(client, clinic, url=url)
    assert subscription["secret"].startswith("whsec_")
    await deliver_every_type(sessionmaker, ctx, clinic, real_time)

    assert len(system.received) == len(EventType)
    for request in system.received:
        event = verify(subscription["secret"], request)
        assert event == json.loads(request.body)
        assert event["id"] == request.headers["webhook-id"]
        assert request.headers["webhook-timestamp"] == str(int(real_time.now().timestamp()))
        assert signatures(request)[0].startswith("v1,")
        with pytest.raises(WebhookVerificationError):
            verify(generate_secret(), request)
        tampered = Request(request.method, request.path, request.headers, request.body + b" ")
        with pytest.raises(WebhookVerificationError):
            verify(subscription["secret"], tampered)
    assert {json.loads(r.body)["type"] for r in system.received} == set(EventType)


def readme_verifier(secret: str) -> Any:
    """The README's Python lines for verifying an event, with this secret."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Verifying events", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert '"whsec_..."' in snippet
    namespace: dict[str, Any] = {}
    exec(snippet.replace('"whsec_..."', repr(secret)), namespace)
    return namespace["verify"]


async def test_the_readme_lines_verify_a_delivery(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    real_time: FixedClock,
    ctx: dict[str, Any],
    practice: tuple[PracticeSystem, str],
) -> None:
    system, url = practice
    subscription = await subscribe(client, clinic, url=url)
    await deliver_every_type(sessionmaker, ctx, clinic, real_time)

    verify_as_readme = readme_verifier(subscription["secret"])
    for request in system.received:
        assert verify_as_readme(request.body, request.headers) == json.loads(request.body)
    with pytest.raises(WebhookVerificationError):
        readme_verifier(generate_secret())(request.body, request.headers)


async def test_during_a_rotation_each_delivery_verifies_with_either_secret(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    real_time: FixedClock,
    ctx: dict[str, Any],
    practice: tuple[PracticeSystem, str],
) -> None:
    system, url = practice
    subscription = await subscribe(client, clinic, url=url)
    rotated = await rotate(client, clinic, subscription["id"])
    assert rotated["secret"] != subscription["secret"]
    expires_at = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert expires_at == real_time.now() + ROTATION_GRACE
    shown = await client.get(
        f"/v1/event-subscriptions/{subscription['id']}", headers=clinic.headers
    )
    assert shown.json()["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    assert "secret" not in shown.json()

    real_time.advance(seconds=1)  # the grace period still runs at the real time
    await deliver_every_type(sessionmaker, ctx, clinic, real_time)

    for request in system.received:
        assert len(signatures(request)) == 2
        assert verify(rotated["secret"], request) == json.loads(request.body)
        assert verify(subscription["secret"], request) == json.loads(request.body)
        with pytest.raises(WebhookVerificationError):
            verify(generate_secret(), request)


async def test_after_the_grace_period_only_the_new_secret_signs(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    real_time: FixedClock,
    ctx: dict[str, Any],
    practice: tuple[PracticeSystem, str],
) -> None:
    system, url = practice
    now = real_time.now()
    real_time.set(now - ROTATION_GRACE)
    subscription = await subscribe(client, clinic, url=url)
    rotated = await rotate(client, clinic, subscription["id"])
    real_time.set(now)

    await deliver_every_type(sessionmaker, ctx, clinic, real_time)

    for request in system.received:
        assert len(signatures(request)) == 1
        assert verify(rotated["secret"], request) == json.loads(request.body)
        with pytest.raises(WebhookVerificationError):
            verify(subscription["secret"], request)


async def test_rotating_again_ends_the_oldest_secret_at_once(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    real_time: FixedClock,
    ctx: dict[str, Any],
    practice: tuple[PracticeSystem, str],
) -> None:
    system, url = practice
    first = await subscribe(client, clinic, url=url)
    second = await rotate(client, clinic, first["id"])
    third = await rotate(client, clinic, first["id"])

    await deliver_every_type(sessionmaker, ctx, clinic, real_time)

    for request in system.received:
        assert len(signatures(request)) == 2
        verify(third["secret"], request)
        verify(second["secret"], request)
        with pytest.raises(WebhookVerificationError):
            verify(first["secret"], request)


async def test_a_secret_issued_before_the_standard_rotates_to_one_the_library_takes(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    real_time: FixedClock,
    ctx: dict[str, Any],
    practice: tuple[PracticeSystem, str],
) -> None:
    """Subscriptions made earlier hold URL-safe base64 secrets (`secrets.token_urlsafe`),
    which the library may refuse; they sign with the bytes they encode, during the
    rotation too."""
    system, url = practice
    subscription = await subscribe(client, clinic, url=url)
    legacy = "FBUD5GhlxQHRppeM-otoFTZtmm_n6Dakj4T93qGPYmc"
    async with sessionmaker.begin() as session:
        await session.execute(
            update(event_subscription_table)
            .where(event_subscription_table.c.id == uuid.UUID(subscription["id"]))
            .values(secret=f"whsec_{legacy}")
        )
    legacy_key = base64.urlsafe_b64decode(legacy + "=")

    await deliver_every_type(sessionmaker, ctx, clinic, real_time)
    rotated = await rotate(client, clinic, subscription["id"])
    await deliver_every_type(sessionmaker, ctx, clinic, real_time)

    before, during = system.received[: len(EventType)], system.received[len(EventType) :]
    for request in before:
        Webhook(legacy_key).verify(request.body, request.headers)
    for request in during:
        Webhook(legacy_key).verify(request.body, request.headers)
        verify(rotated["secret"], request)


async def test_another_clinics_subscription_is_not_rotated(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    subscription = await subscribe(client, clinic)
    for owner, subscription_id in [
        (other_clinic, subscription["id"]),
        (clinic, str(uuid.uuid4())),
    ]:
        response = await client.post(
            f"/v1/event-subscriptions/{subscription_id}/rotate-secret", headers=owner.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    async with sessionmaker() as session:
        stored = await session.get(EventSubscription, uuid.UUID(subscription["id"]))
        assert stored is not None
        assert (stored.secret, stored.previous_secret, stored.previous_secret_expires_at) == (
            subscription["secret"],
            None,
            None,
        )
