"""Shared by the webhook, reply, event and sms-info tests."""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.deliveries.models import StoredDeliveryReport
from app.deliveries.reports import AppliedReports, apply_stored_reports
from app.messages.models import Message
from tests.conftest import ClinicAccess
from tests.support.dispatch import RecordingProvider, dispatch_once

NUMBER = "+4791234567"


async def dispatch_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    provider_name: str = "linkmobility",
) -> RecordingProvider:
    provider = RecordingProvider(name=provider_name)
    await dispatch_once(sessionmaker, clock, provider)
    return provider


async def create_message(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> str:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": NUMBER, "text": "Hei"} | body
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["data"][0]["id"]
    return message_id


async def sent_message(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    provider_name: str = "linkmobility",
    **body: Any,
) -> str:
    """A message the provider has accepted (status sent, delivery accepted)."""
    message_id = await create_message(client, clinic, **body)
    await dispatch_all(sessionmaker, clock, provider_name)
    return message_id


async def webhook_path(
    client: httpx.AsyncClient, clinic: ClinicAccess, provider: str, kind: str
) -> str:
    """The path for `provider` with the clinic's secret. A sandbox clinic is shown no URLs,
    so the secret is read from the URLs shown while it is set to a real provider."""
    current = (await client.get("/v1/settings", headers=clinic.headers)).json()
    urls = current["webhook_urls"]
    if urls is None:
        shown = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"provider": "linkmobility"}
        )
        urls = shown.json()["webhook_urls"]
        await client.patch(
            "/v1/settings", headers=clinic.headers, json={"provider": current["provider"]}
        )
    secret = urls[kind].split("/")[-2]
    return f"/v1/webhooks/{provider}/{secret}/{kind}"


async def apply_reports(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AppliedReports:
    async with sessionmaker.begin() as session:
        return await apply_stored_reports(session, now=clock.now())


async def stored_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """The delivery reports stored so far, of every provider."""
    async with sessionmaker() as session:
        count = await session.execute(select(func.count()).select_from(StoredDeliveryReport))
        return int(count.scalar_one())


async def load_message(sessionmaker: async_sessionmaker[AsyncSession], message_id: str) -> Message:
    async with sessionmaker() as session:
        message = await session.get(Message, uuid.UUID(message_id))
        assert message is not None
        return message


class Captured(logging.Handler):
    """Records of one logger; the app's lifespan replaces the root handlers (and caplog's)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]


@contextmanager
def captured_logs(name: str) -> Iterator[Captured]:
    handler = Captured()
    logger = logging.getLogger(name)
    # Alembic's fileConfig (the migrations run first) disables loggers that exist by then.
    was_disabled, logger.disabled = logger.disabled, False
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.disabled = was_disabled
