"""Pending messages follow the clinic's pause rules and time zone when they change."""

from datetime import UTC, datetime
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages.models import message_table
from tests.conftest import ClinicAccess

SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # 11:00 in Oslo
MONDAY_MORNING = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 08:00 in Oslo


async def queue(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> str:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": "Hei"} | body
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["data"][0]["id"]
    return message_id


async def scheduled_for(client: httpx.AsyncClient, clinic: ClinicAccess, message_id: str) -> str:
    response = await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)
    assert response.status_code == 200, response.text
    moment: str = response.json()["scheduled_for"]
    return moment


async def set_pauses(client: httpx.AsyncClient, clinic: ClinicAccess, **pauses: Any) -> None:
    response = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"pause_rules": pauses}
    )
    assert response.status_code == 200, response.text


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_lifting_a_pause_sends_what_waited_for_it_now(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock, redis: ArqRedis
) -> None:
    clock.set(SATURDAY)
    message_id = await queue(client, clinic)
    assert await scheduled_for(client, clinic, message_id) == z(MONDAY_MORNING)

    await set_pauses(client, clinic, saturday=False)

    assert await scheduled_for(client, clinic, message_id) == z(SATURDAY)
    queued = {job.job_id for job in await redis.queued_jobs()}
    assert f"dispatch:now:{int(SATURDAY.timestamp())}" in queued


async def test_a_new_pause_moves_a_message_to_its_end(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    tuesday_noon = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 12:00 in Oslo
    message_id = await queue(client, clinic, send_after=tuesday_noon.isoformat())
    assert await scheduled_for(client, clinic, message_id) == z(tuesday_noon)

    await set_pauses(client, clinic, night_start="11:30", night_end="14:00")  # a long lunch

    assert await scheduled_for(client, clinic, message_id) == "2026-12-01T13:00:00Z"


async def test_a_time_zone_change_moves_the_wall_clock_pauses(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    clock.set(SATURDAY)
    message_id = await queue(client, clinic)
    response = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"time_zone": "America/New_York"}
    )
    assert response.status_code == 200, response.text
    # Monday 08:00 in New York.
    assert await scheduled_for(client, clinic, message_id) == "2026-12-07T13:00:00Z"


async def test_messages_waiting_to_retry_keep_their_back_off(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(SATURDAY)
    message_id = await queue(client, clinic)
    async with sessionmaker.begin() as session:  # as after one retryable failure
        await session.execute(update(message_table).values(attempts=1))

    await set_pauses(client, clinic, saturday=False)

    assert await scheduled_for(client, clinic, message_id) == z(MONDAY_MORNING)
