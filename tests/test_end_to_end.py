"""End to end over real sockets: the API (served by uvicorn), the worker's jobs, the LINK
adapter talking to a small LINK server, and a practice system receiving signed events.

The LINK server accepts the reminder on `/sms/send`, posts a delivery report to our
webhook at once, and, when the patient has read the SMS, the reply "JA" to our inbound
webhook. The message ends answered (SB) and delivered; the practice system heard about
every step, each signature verifying.
"""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries import tasks as delivery_tasks
from app.events import tasks as event_tasks
from app.messages import tasks as message_tasks
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess
from tests.support.standard_webhooks import signed_with

TIMEOUT = 10.0
PATIENT_MOBILE = "+4791234567"
REPLY_NUMBER = "+4790000000"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Awaitable[tuple[int, bytes]]]


async def _read_request(reader: asyncio.StreamReader) -> Request:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


@dataclass
class HttpServer:
    """HTTP/1.1 with keep-alive on a real socket; just enough for these two parties."""

    handler: Handler
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                status, body = await self.handler(request)
                writer.write(
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()


@dataclass
class LinkMobility:
    """LINK's documented send API, and the gates that call us back."""

    delivery_url: str
    inbound_url: str
    report_posted: asyncio.Event = field(default_factory=asyncio.Event)
    patient_has_read: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[asyncio.Task[None]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def handle(self, request: Request) -> tuple[int, bytes]:
        body = json.loads(request.body)
        if request.path == "/sms/send":
            return 200, json.dumps(self._accept(body)).encode()
        if request.path == "/sms/sendbatch":
            accepted = [self._accept(message) for message in body["sendRequestMessages"]]
            return 200, json.dumps(
                [{**a, "message": a.pop("description")} for a in accepted]
            ).encode()
        return 404, b'{"errorCode": 106000}'

    def _accept(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(message)
        link_id = uuid.uuid4().hex[:24]
        self.callbacks.append(asyncio.create_task(self._call_back(message, link_id)))
        return {
            "messageId": link_id,
            "refId": message["refId"],
            "resultCode": 1005,
            "description": "Queued",
        }

    async def _call_back(self, message: dict[str, Any], link_id: str) -> None:
        report = {
            "refId": message["refId"],
            "id": link_id,
            "operator": "no.telenor",
            "sentTimestamp": "2026-11-30T10:00:01Z",
            "timestamp": "2026-11-30T10:00:03Z",
            "resultCode": 1001,
            "operatorResultCode": "2",
            "segments": 1,
            "gateCustomParameters": {},
            "customParameters": {},
        }
        reply = {
            "destination": message["source"],
            "source": message["destination"],
            "content": {"type": "SMS", "userData": "JA", "encoding": "TEXT"},
            "operator": "no.telenor",
            "timestamp": "2026-11-30T10:04:00Z",
            "messageId": f"mo-{link_id}",
        }
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            self.answers.append((await http.post(self.delivery_url, json=report)).status_code)
            self.report_posted.set()
            await self.patient_has_read.wait()
            self.answers.append((await http.post(self.inbound_url, json=reply)).status_code)


@dataclass
class PracticeSystem:
    received: list[Request] = field(default_factory=list)

    async def handle(self, request: Request) -> tuple[int, bytes]:
        self.received.append(request)
        return 200, b"{}"

    def verified_events(self, secret: str) -> list[dict[str, Any]]:
        events = []
        for request in self.received:
            assert signed_with(secret, request.headers, request.body)
            event = json.loads(request.body)
            assert event["id"] == request.headers["webhook-id"]
            events.append(event)
        return events


@pytest.fixture
async def api_url(app: FastAPI) -> AsyncIterator[str]:
    """The test app (its lifespan already entered) served by uvicorn on a real socket."""
    # Bound and listening before uvicorn starts: connections wait in the backlog meanwhile.
    listener = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    host, port = listener.getsockname()[:2]
    yield f"http://{host}:{port}"
    server.should_exit = True
    await task
    listener.close()


async def configure_clinic(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={
            "provider": "linkmobility",
            "reply_number": REPLY_NUMBER,
            "sender_name": "TannBerg",
            "provider_credentials": {
                "linkmobility": {
                    "username": "clinic",
                    "password": "secret",
                    "platform_id": "SMS",
                    "platform_partner_id": "1234",
                    "gate_id": "gate-1",
                }
            },
        },
    )
    assert response.status_code == 200, response.text
    patient = await client.put(
        "/v1/patients/1001",
        headers=clinic.headers,
        json={"first_name": "Kari", "last_name": "Nordmann", "mobile": PATIENT_MOBILE},
    )
    assert patient.status_code == 201, patient.text


async def webhook_urls(client: httpx.AsyncClient, clinic: ClinicAccess, api_url: str) -> Any:
    urls = (await client.get("/v1/settings", headers=clinic.headers)).json()["webhook_urls"]
    return {kind: url.replace("https://sms.example.test", api_url) for kind, url in urls.items()}


async def test_reminder_delivered_answered_and_announced(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    api_url: str,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    redis: ArqRedis,
) -> None:
    await configure_clinic(client, clinic)
    urls = await webhook_urls(client, clinic, api_url)
    link = LinkMobility(delivery_url=urls["delivery"], inbound_url=urls["inbound"])
    practice = PracticeSystem()
    link_server, practice_server = HttpServer(link.handle), HttpServer(practice.handle)
    await link_server.start()
    await practice_server.start()
    try:
        subscription = await client.post(
            "/v1/event-subscriptions",
            headers=clinic.headers,
            json={
                "url": f"{practice_server.url}/sms-events",
                "event_types": ["message.status_changed", "reply.received"],
            },
        )
        secret = subscription.json()["secret"]
        created = await client.post(
            "/v1/messages",
            headers=clinic.headers,
            json={
                "patient_no": "1001",
                "template_type": "reminder_1",
                "practitioner": "Tannlege Hansen",
                "appointment_id": "A-77",
                "merge_values": {"Tidspunkt": "tirsdag 1. desember kl. 14:30"},
            },
        )
        message_id = created.json()["data"][0]["id"]

        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            ctx = {
                "sessionmaker": sessionmaker,
                "clock": clock,
                "settings": settings,
                "redis": redis,
                "status": SimpleNamespace(worker_id="e2e-worker"),
                "http": http,
                "providers": ProviderFactory(
                    settings.model_copy(update={"linkmobility_base_url": link_server.url}),
                    http,
                    report_sink=_no_sandbox_reports,
                    now=clock.now,
                ),
            }
            assert (await message_tasks.dispatch(ctx))["accepted"] == 1
            [sent] = link.sent
            assert (sent["refId"], sent["destination"], sent["source"]) == (
                message_id,
                PATIENT_MOBILE,
                REPLY_NUMBER,
            )
            assert "JA for å bekrefte" in sent["userData"]

            await asyncio.wait_for(link.report_posted.wait(), TIMEOUT)
            clock.advance(seconds=3)
            assert (await delivery_tasks.apply_stored(ctx))["applied"] == 1

            clock.advance(minutes=4)
            link.patient_has_read.set()
            await asyncio.wait_for(asyncio.gather(*link.callbacks), TIMEOUT)
            assert link.answers == [200, 200]
            posted = await event_tasks.deliver(ctx)
            assert posted["delivered"] == len(practice.received) == 4

        message = (await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)).json()
        assert (message["status"], message["status_code"], message["delivery"]) == (
            "answered",
            "SB",
            "delivered",
        )
        [reply] = (await client.get("/v1/replies", headers=clinic.headers)).json()["data"]
        assert (reply["text"], reply["keyword"], reply["message_id"]) == (
            "JA",
            "confirm",
            message_id,
        )

        events = practice.verified_events(secret)
        assert all(request.path == "/sms-events" for request in practice.received)
        changes = sorted(
            (e["data"]["status_code"], e["data"]["delivery"])
            for e in events
            if e["type"] == "message.status_changed"
        )
        assert changes == [("S", "accepted"), ("S", "delivered"), ("SB", "delivered")]
        [received] = [e for e in events if e["type"] == "reply.received"]
        assert received["data"]["text"] == "JA"
        assert received["data"]["message_id"] == message_id
        assert received["data"]["patient_no"] == "1001"
    finally:
        await link_server.stop()
        await practice_server.stop()


async def _no_sandbox_reports(_reports: list[Any]) -> None:
    raise AssertionError("the sandbox is not in use")
