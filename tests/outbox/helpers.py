"""Queueing messages at given times, and reading the outbox."""

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.messages.models import message_table
from tests.conftest import ClinicAccess

Json = dict[str, Any]
NO_PAUSES = {"saturday": False, "sunday": False, "night_start": None, "night_end": None}
NIGHTS = {"saturday": False, "sunday": False, "night_start": "21:00", "night_end": "08:00"}


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def set_pauses(client: httpx.AsyncClient, clinic: ClinicAccess, pauses: Json) -> None:
    response = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"pause_rules": pauses}
    )
    assert response.status_code == 200, response.text


async def queue(
    client: httpx.AsyncClient, clinic: ClinicAccess, send_after: datetime, **body: Any
) -> Json:
    defaults = {"to": "+4791234567", "text": "Hei fra klinikken"}
    fields = {k: v for k, v in (defaults | body).items() if v is not None}
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json=fields | {"send_after": z(send_after)}
    )
    assert response.status_code == 201, response.text
    [message] = response.json()["data"]
    result: Json = message
    return result


async def waiting_to_retry(
    sessionmaker: async_sessionmaker[AsyncSession],
    message_id: str,
    at: datetime,
    expires_at: datetime | None = None,
) -> None:
    """As after a first attempt that failed before the provider took it: a settings change
    keeps its back-off time, so it may lie in a pause added since."""
    values: Json = {"attempts": 1, "next_attempt_at": at}
    if expires_at is not None:
        values["expires_at"] = expires_at
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(message_table)
            .where(message_table.c.id == uuid.UUID(message_id))
            .values(**values)
        )


async def outbox(
    client: httpx.AsyncClient, clinic: ClinicAccess, first: str, last: str, **params: Any
) -> Json:
    response = await client.get(
        "/v1/outbox", headers=clinic.headers, params={"from": first, "to": last} | params
    )
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result
