"""Helpers for the appointment tests: push patients, appointments and rules over HTTP."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.messages.models import Message
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.support.dispatch import RecordingProvider, dispatch_once

Json = dict[str, Any]

NO_PAUSES = {"saturday": False, "sunday": False, "night_start": None, "night_end": None}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def z(moment: datetime) -> str:
    """How the API renders a UTC datetime."""
    return moment.isoformat().replace("+00:00", "Z")


async def put_appointment(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    appointment_id: str,
    *,
    start: datetime,
    end: datetime | None = None,
    expect: tuple[int, ...] = (200, 201),
    **fields: Any,
) -> Json:
    body = {
        "patient_no": "1001",
        "practitioner": "Tannlege Hansen",
        "start": iso(start),
        "end": iso(end or start + timedelta(minutes=30)),
        "status": "booked",
    } | fields
    response = await client.put(
        f"/v1/appointments/{appointment_id}", headers=clinic.headers, json=body
    )
    assert response.status_code in expect, response.text
    result: Json = response.json()
    return result


async def put_rules(client: httpx.AsyncClient, clinic: ClinicAccess, **rules: Any) -> Json:
    response = await client.put("/v1/reminder-rules", headers=clinic.headers, json=rules)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


async def patch_settings(client: httpx.AsyncClient, clinic: ClinicAccess, **fields: Any) -> None:
    response = await client.patch("/v1/settings", headers=clinic.headers, json=fields)
    assert response.status_code == 200, response.text


async def messages_of(
    client: httpx.AsyncClient, clinic: ClinicAccess, appointment_id: str, **params: Any
) -> list[Json]:
    response = await client.get(
        "/v1/messages",
        headers=clinic.headers,
        params={"appointment_id": appointment_id, "limit": 500} | params,
    )
    assert response.status_code == 200, response.text
    data: list[Json] = response.json()["data"]
    return sorted(data, key=lambda m: (m["created_at"], m["type"], m["recipient_role"]))


def by_type(messages: list[Json], status: str | None = "pending") -> dict[str, Json]:
    return {m["type"]: m for m in messages if status is None or m["status"] == status}


@pytest.fixture
async def patient(client: httpx.AsyncClient, clinic: ClinicAccess) -> Json:
    return await put_patient(client, clinic, "1001", wants_sms=True)


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> RecordingProvider:
    """Run the worker's send loop once at the clock's time."""
    provider = RecordingProvider()
    await dispatch_once(sessionmaker, clock, provider)
    return provider


async def set_delivery(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: str, delivery: str
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Message)
            .where(col(Message.id) == uuid.UUID(message_id))
            .values(delivery=delivery)
        )


@pytest.fixture
async def sender(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    """The clinic can send: a reply number for reply-able texts, a sender name for others."""
    await patch_settings(
        client,
        clinic,
        reply_number="+4790012345",
        sender_name="Tannlege",
        business_phone="22 33 44 55",
    )
