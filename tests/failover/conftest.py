"""A clinic on LINK Mobility with Sinch as its secondary, both mocked with respx using the
bodies the providers document, and the send loop run once per call."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.core.jobs import PendingJob
from app.failover.circuit import Circuit, CircuitPolicy
from app.failover.store import circuits_of
from app.messages.dispatch import DispatchStats, dispatch_batch
from app.messages.models import Message
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess

LINK_CREDENTIALS = {
    "username": "clinic",
    "password": "secret",
    "platform_id": "SMS",
    "platform_partner_id": "1234",
    "gate_id": "gate-1",
}
PLAN = "plan-1"
SINCH_CREDENTIALS = {"service_plan_id": PLAN, "api_token": "sinch-token"}
POLICY = CircuitPolicy(failure_threshold=2, probe_after=timedelta(seconds=60))


def link_queued(ref_id: str) -> dict[str, object]:
    """LINK's SendResponse (MT v1.18): queued."""
    return {"messageId": f"link-{ref_id[:8]}", "resultCode": 1005, "description": "Queued"}


def link_batch_queued(request: httpx.Request) -> httpx.Response:
    messages = json.loads(request.content)["sendRequestMessages"]
    return httpx.Response(
        200,
        json=[
            {"messageId": f"link-{m['refId'][:8]}", "refId": m["refId"], "resultCode": 1005}
            for m in messages
        ],
    )


def sinch_created(request: httpx.Request) -> httpx.Response:
    """Sinch's 201 for `POST /batches` (xms v1 "Send"): the batch echoed with its id."""
    body = json.loads(request.content)
    return httpx.Response(
        201,
        json={
            "id": f"01SINCH{body['client_reference'][:8]}",
            "from": body["from"],
            "to": body["to"],
            "body": body["body"],
            "type": "mt_text",
            "created_at": "2026-11-30T10:00:00.123Z",
            "modified_at": "2026-11-30T10:00:00.123Z",
            "canceled": False,
            "delivery_report": "per_recipient",
            "client_reference": body["client_reference"],
        },
    )


class Providers:
    def __init__(self, router: respx.MockRouter, settings: Settings) -> None:
        link = settings.linkmobility_base_url
        self.link_send = router.post(f"{link}/sms/send")
        self.link_batch = router.post(f"{link}/sms/sendbatch")
        self.sinch = router.post(f"{settings.sinch_base_url}/xms/v1/{PLAN}/batches")
        self.sinch.mock(side_effect=sinch_created)

    def link_down(self) -> None:
        refused = httpx.ConnectError("[Errno 111] Connection refused")
        self.link_send.mock(side_effect=refused)
        self.link_batch.mock(side_effect=refused)

    def link_up(self) -> None:
        self.link_send.mock(
            side_effect=lambda request: httpx.Response(
                200, json=link_queued(json.loads(request.content)["refId"])
            )
        )
        self.link_batch.mock(side_effect=link_batch_queued)

    @property
    def link_calls(self) -> int:
        return int(self.link_send.call_count + self.link_batch.call_count)


@pytest.fixture
def providers(settings: Settings) -> Iterator[Providers]:
    with respx.mock(assert_all_called=False) as router:
        yield Providers(router, settings)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def factory(settings: Settings, http: httpx.AsyncClient, clock: FixedClock) -> ProviderFactory:
    async def no_sandbox(_reports: list[Any]) -> None:
        raise AssertionError("the sandbox is not in use")

    return ProviderFactory(settings, http, no_sandbox, clock.now)


@pytest.fixture
async def failover_clinic(client: httpx.AsyncClient, clinic: ClinicAccess) -> ClinicAccess:
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={
            "provider": "linkmobility",
            "secondary_provider": "sinch",
            "sender_name": "TannBerg",
            "provider_credentials": {"linkmobility": LINK_CREDENTIALS, "sinch": SINCH_CREDENTIALS},
        },
    )
    assert response.status_code == 200, response.text
    return clinic


async def _no_jobs(_jobs: list[PendingJob]) -> None:
    return None


async def dispatch(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    factory: ProviderFactory,
    policy: CircuitPolicy = POLICY,
) -> DispatchStats:
    return await dispatch_batch(
        sessionmaker,
        now=clock.now,
        provider_for=factory.build,
        secondary_for=factory.build_secondary,
        circuit_policy=policy,
        limit=1000,
        after_commit=_no_jobs,
        worker_id="test-worker",
    )


async def send(client: httpx.AsyncClient, clinic: ClinicAccess, to: str) -> str:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": to, "text": "Hei"}
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["data"][0]["id"]
    return message_id


async def load(sessionmaker: async_sessionmaker[AsyncSession], message_id: str) -> Message:
    async with sessionmaker() as session:
        message = await session.get(Message, uuid.UUID(message_id))
        assert message is not None
        return message


async def circuit(
    sessionmaker: async_sessionmaker[AsyncSession], clinic: ClinicAccess, provider: str
) -> Circuit | None:
    async with sessionmaker() as session:
        return (await circuits_of(session, [(clinic.id, provider)])).get((clinic.id, provider))
