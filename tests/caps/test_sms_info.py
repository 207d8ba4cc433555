"""SMS information shows this month's spend against the cap."""

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.caps.conftest import REMINDER_BODY, configure, dispatch, queue
from tests.conftest import ClinicAccess


async def monthly_spend(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    response = await client.get("/v1/sms-info", headers=clinic.headers)
    assert response.status_code == 200, response.text
    spend: dict[str, Any] = response.json()["monthly_spend"]
    return spend


def nok(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "NOK"}


async def test_without_a_cap_only_the_spend(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    assert await monthly_spend(client, clinic) == {
        "spent": nok("0.00"),
        "cap": None,
        "remaining": None,
    }
    await configure(client, clinic)
    await queue(client, clinic)
    await dispatch(sessionmaker, clock)
    assert await monthly_spend(client, clinic) == {
        "spent": nok("0.50"),
        "cap": None,
        "remaining": None,
    }


async def test_the_spend_against_the_cap_by_the_clinics_month(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic, monthly_spend_cap="1.00")
    clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 on 30 November in Oslo
    await queue(client, clinic, "+4791234501")
    await dispatch(sessionmaker, clock)
    assert await monthly_spend(client, clinic) == {
        "spent": nok("0.50"),
        "cap": nok("1.00"),
        "remaining": nok("0.50"),
    }
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))  # 1 December
    assert (await monthly_spend(client, clinic))["remaining"] == nok("1.00")
    for number in ("+4791234502", "+4791234503", "+4791234504"):
        await queue(client, clinic, number, **REMINDER_BODY)
    await dispatch(sessionmaker, clock)
    # Exempt reminders may take the spend past the cap; what is left is never below zero.
    assert await monthly_spend(client, clinic) == {
        "spent": nok("1.50"),
        "cap": nok("1.00"),
        "remaining": nok("0.00"),
    }
