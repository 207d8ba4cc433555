"""Shared by the spending-cap tests: a clinic with no pauses and a price per segment."""

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.events.models import EventDelivery
from app.messages.models import Message
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import subscribe
from tests.support.dispatch import RecordingProvider, dispatch_once

NO_PAUSES = {"saturday": False, "sunday": False, "night_start": None, "night_end": None}
NUMBER = "+4791234567"
# A service message: exempt from the caps while cap_exempts_service is on.
REMINDER_BODY = {
    "template_type": "reminder_1",
    "practitioner": "Tannlege Berg",
    "merge_values": {"Mottaker": "Kari", "Tidspunkt": "onsdag 2. desember kl. 09:00"},
}


async def configure(client: httpx.AsyncClient, clinic: ClinicAccess, **fields: Any) -> None:
    """No pauses, 0.50 a segment ("Hei" is one), these settings, and a subscription."""
    body = {"pause_rules": NO_PAUSES, "price_per_segment": "0.50"} | fields
    response = await client.patch("/v1/settings", headers=clinic.headers, json=body)
    assert response.status_code == 200, response.text
    await subscribe(client, clinic, event_types=["cap.reached", "message.status_changed"])


async def ask(
    client: httpx.AsyncClient, clinic: ClinicAccess, to: str = NUMBER, **body: Any
) -> dict[str, Any]:
    given = {"text": "Hei"} if "template_type" not in body else {}
    if "patient_no" not in body:
        given["to"] = to
    response = await client.post("/v1/messages", headers=clinic.headers, json=given | body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def queue(
    client: httpx.AsyncClient, clinic: ClinicAccess, to: str = NUMBER, **body: Any
) -> str:
    answer = await ask(client, clinic, to, **body)
    message_id: str = answer["data"][0]["id"]
    return message_id


async def dispatch(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> RecordingProvider:
    provider = RecordingProvider()
    await dispatch_once(sessionmaker, clock, provider)
    return provider


async def messages(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Message]:
    async with sessionmaker() as session:
        rows = await session.execute(select(Message).order_by(Message.created_at))  # type: ignore[arg-type]
        return list(rows.scalars())


async def message(sessionmaker: async_sessionmaker[AsyncSession], message_id: str) -> Message:
    async with sessionmaker() as session:
        found = await session.get(Message, uuid.UUID(message_id))
        assert found is not None
        return found


async def cap_events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(EventDelivery)
            .where(EventDelivery.event_type == "cap.reached")  # type: ignore[arg-type]
            .order_by(EventDelivery.created_at)  # type: ignore[arg-type]
        )
        return [delivery.data for delivery in rows.scalars()]
