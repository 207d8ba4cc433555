"""Messages a patient change ends are announced: a status event with the reason code each."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.appointments.conftest import patch_settings
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import recorded, subscribe
from tests.messages.conftest import put_patient
from tests.patients.test_followups import GUARDIAN, message, queue

OFFER = {"text": None, "template_type": "offer", "merge_values": {"URL": "https://x.no/t"}}


async def events_of(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str, str | None]]:
    return sorted(
        (d.data["message_id"], d.data["status"], d.data["failure_reason"])
        for d in await recorded(sessionmaker)
        if d.event_type == "message.status_changed"
    )


async def test_a_removed_number_announces_each_cancelled_message(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001")
    first, second = [(await queue(client, clinic, clock))[0]["id"] for _ in range(2)]

    await put_patient(client, clinic, "1001", mobile=None)

    assert await events_of(sessionmaker) == sorted(
        [(first, "cancelled", "no_mobile"), (second, "cancelled", "no_mobile")]
    )


async def test_a_number_that_cannot_take_sms_announces_the_failure(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001")
    [queued] = await queue(client, clinic, clock)

    await put_patient(client, clinic, "1001", mobile="22 33 44 55")

    assert await events_of(sessionmaker) == [(queued["id"], "failed", "invalid_number")]


async def test_withdrawn_consent_announces_its_reason_per_message(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await patch_settings(client, clinic, reminder_policy="opted_in_only")
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001", wants_sms=True, guardians=[GUARDIAN])
    patient, guardian = await queue(client, clinic, clock, include_guardians=True)

    withdrawn = GUARDIAN | {"wants_sms": False}
    await put_patient(client, clinic, "1001", wants_sms=False, guardians=[withdrawn])

    assert await events_of(sessionmaker) == sorted(
        [(patient["id"], "cancelled", "no_consent"), (guardian["id"], "cancelled", "no_consent")]
    )


async def test_a_message_left_pending_is_not_announced(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001")
    await queue(client, clinic, clock)

    await put_patient(client, clinic, "1001", mobile="+4792000098")  # re-addressed only

    assert await events_of(sessionmaker) == []


@pytest.mark.usefixtures("reply_number")
async def test_marketing_consent_withdrawn_alone_cancels_marketing_and_offers(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await subscribe(client, clinic, event_types=["message.status_changed"])
    await put_patient(client, clinic, "1001", marketing_consent=True, guardians=[GUARDIAN])
    [service] = await queue(client, clinic, clock)
    patient_offer, guardian_offer = await queue(
        client, clinic, clock, include_guardians=True, **OFFER
    )

    # The same patient, but for the consent to marketing.
    await put_patient(client, clinic, "1001", marketing_consent=False, guardians=[GUARDIAN])

    for offer in (patient_offer, guardian_offer):
        cancelled = await message(client, clinic, offer["id"])
        assert (cancelled["status"], cancelled["failure_reason"]) == (
            "cancelled",
            "no_marketing_consent",
        )
    assert (await message(client, clinic, service["id"]))["status"] == "pending"
    assert await events_of(sessionmaker) == sorted(
        [
            (patient_offer["id"], "cancelled", "no_marketing_consent"),
            (guardian_offer["id"], "cancelled", "no_marketing_consent"),
        ]
    )
