"""A guardian's JA to the one reminder for two children confirms both (issue 12 §2), and
each confirmation event is the child's own (erasing one child erases theirs)."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.patients.models import Patient
from tests.appointments.conftest import send_due
from tests.appointments.test_one_per_day import GUARDIAN, appointment, at, book_two_children
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import recorded, subscribe
from tests.replies.test_inbound import reply

pytestmark = pytest.mark.usefixtures("sender")


async def test_a_guardians_ja_confirms_both_children(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await subscribe(client, clinic, event_types=["appointment.confirmed"])
    await book_two_children(client, clinic)
    clock.set(at(9) - timedelta(hours=24))
    provider = await send_due(sessionmaker, clock)
    assert [sms.to for sms in provider.sent] == [GUARDIAN]
    clock.advance(minutes=5)
    await reply(client, clinic, "JA", sender=GUARDIAN)

    for appointment_id in ("B1", "B2"):
        assert (await appointment(client, clinic, appointment_id))["confirmation"] == "confirmed"
    async with sessionmaker() as session:
        rows = await session.execute(select(col(Patient.patient_no), col(Patient.id)))
        ids = {patient_id: patient_no for patient_no, patient_id in rows}
    events = {e.data["appointment_id"]: ids[e.patient_id] for e in await recorded(sessionmaker)}
    assert events == {"B1": "2001", "B2": "2002"}
