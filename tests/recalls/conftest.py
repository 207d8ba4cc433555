"""Helpers for the recall tests: a clinic whose recall rule is on, patients with due dates,
and the planner run at the clock's time.

The clock starts on Monday 2026-11-30 at 11:00 in Oslo (10:00 UTC). With `RULE`, a patient
due on `DUE_TODAY` gets the first recall today at 12:00 Oslo, `FIRST_SEND`."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.core.db import session_scope
from app.messages.models import Message
from app.recalls.sending import PlanStats, plan_clinic
from tests.appointments.conftest import patch_settings, put_rules, send_due
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

Json = dict[str, Any]

RULE: Json = {
    "enabled": True,
    "days_before_due": 30,
    "send_hour": 12,
    "repeat_after_days": 14,
    "max_attempts": 2,
    "booking_url": "https://berg.no/bestill",
}
DUE_TODAY = "2026-12-30"
FIRST_SEND = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def recall_rule(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    """Recall on; the clinic can send and has [Businessphone]."""
    # business_phone first: the default recall text has [Businessphone] (a rule must be ready)
    await patch_settings(client, clinic, sender_name="Tannlege", business_phone="22 33 44 55")
    await put_rules(client, clinic, recall=RULE)


URL_TEXT = "Hei [Fornavn]! Det er på tide med tannkontroll. Bestill time på [URL]"
"""A recall text with the rule's booking_url; the default text offers the phone instead."""


async def save_recall_text(client: httpx.AsyncClient, clinic: ClinicAccess, text: str) -> None:
    saved = await client.put(
        "/v1/templates/recall", headers=clinic.headers, json={"text": text, "allow_reply": False}
    )
    assert saved.status_code == 200, saved.text


async def due_patient(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    patient_no: str = "1001",
    due: str | None = DUE_TODAY,
    **fields: Any,
) -> Json:
    return await put_patient(client, clinic, patient_no, recall_due=due, **fields)


async def plan(
    sessionmaker: async_sessionmaker[AsyncSession], clinic: ClinicAccess, clock: FixedClock
) -> PlanStats:
    async for session in session_scope(sessionmaker):
        stats = await plan_clinic(session, clinic.id, clock.now())
    return stats


async def made_recall(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> str:
    """Patient 1001 due on `DUE_TODAY` and the planner run: the recall message's id."""
    await due_patient(client, clinic)
    await plan(sessionmaker, clinic, clock)
    message_id: str = (await recall_of(client, clinic, "1001"))["message_id"]
    return message_id


async def sent_recall(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> str:
    """The recall made, and sent at `FIRST_SEND` (the clock is left there)."""
    message_id = await made_recall(client, clinic, sessionmaker, clock)
    clock.set(FIRST_SEND)
    await send_due(sessionmaker, clock)
    return message_id


async def recall_of(client: httpx.AsyncClient, clinic: ClinicAccess, patient_no: str) -> Json:
    response = await client.get(f"/v1/patients/{patient_no}", headers=clinic.headers)
    assert response.status_code == 200, response.text
    recall: Json = response.json()["recall"]
    return recall


async def message(sessionmaker: async_sessionmaker[AsyncSession], message_id: str) -> Message:
    async with sessionmaker() as session:
        found = await session.get(Message, uuid.UUID(message_id))
    assert found is not None
    return found


async def recall_messages(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Message]:
    """The recall messages made, by send time."""
    async with sessionmaker() as session:
        statement = (
            select(Message)
            .where(col(Message.type) == "recall")
            .order_by(col(Message.next_attempt_at), col(Message.patient_no))
        )
        return list((await session.execute(statement)).scalars())
