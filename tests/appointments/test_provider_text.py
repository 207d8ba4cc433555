"""Reminders made from a pushed appointment: smart-encoded, and checked against the provider."""

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.appointments.conftest import messages_of, patch_settings, put_appointment
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=ZoneInfo("Europe/Oslo"))
pytestmark = pytest.mark.usefixtures("sender")


async def test_a_name_link_cannot_carry_is_a_recorded_skip(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await patch_settings(client, clinic, provider="linkmobility")
    await put_patient(client, clinic, "1001", first_name="Kari 🦷", wants_sms=True)

    shown = await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)

    assert shown["reminder_skip_reason"] == "unsupported_characters"
    assert await messages_of(client, clinic, "A1") == []


async def test_the_reminder_is_stored_as_sent(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_patient(client, clinic, "1001", first_name="Kari", wants_sms=True)
    await client.put(
        "/v1/templates/reminder_1",
        headers=clinic.headers,
        json={"text": "Hei [Fornavn] – husk timen [Tidspunkt]", "allow_reply": True},
    )

    await put_appointment(client, clinic, "A1", start=WEDNESDAY_NOON)

    [message] = await messages_of(client, clinic, "A1")
    assert message["text"].startswith("Hei Kari - husk timen ")
    assert message["encoding"] == "GSM-7"
