"""Sinch delivery reports: every documented status, the summary shape, and bad bodies."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.webhooks.sinch import CODES, STATUSES
from tests.conftest import ClinicAccess
from tests.webhooks.helpers import apply_reports, load_message, sent_message, webhook_path

# Sinch "Delivery report statuses", read independently of the implementation's table.
DOCUMENTED: list[tuple[str, int, str]] = [
    ("Queued", 400, "accepted"),
    ("Dispatched", 401, "accepted"),
    ("Delivered", 0, "delivered"),
    ("Aborted", 403, "undelivered"),
    ("Cancelled", 407, "undelivered"),
    ("Rejected", 402, "undelivered"),
    ("Deleted", 408, "undelivered"),
    ("Failed", 404, "undelivered"),
    ("Expired", 406, "undelivered"),
    ("Unknown", 0, "unknown"),
]


def recipient_report(message_id: str, status: str, code: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "recipient_delivery_report_sms",
        "batch_id": "01FC66621XXXXX119Z8PMV1QPQ",
        "recipient": "4791234567",
        "code": code,
        "status": status,
        "at": "2026-11-30T10:00:03.000Z",
        "operator_status_at": "2026-11-30T10:00:02.000Z",
        "client_reference": message_id,
        "applied_originator": "Tannlegen",
        "encoding": "GSM",
        "number_of_message_parts": 1,
    } | extra


def test_every_documented_status_and_code_is_mapped() -> None:
    assert set(STATUSES) == {status.lower() for status, _, _ in DOCUMENTED}
    assert set(CODES) >= {0, *range(400, 409), *range(410, 419)}


@pytest.mark.parametrize(
    ("status", "code", "expected"), DOCUMENTED, ids=[s for s, _, _ in DOCUMENTED]
)
async def test_status_sets_the_delivery_state(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    status: str,
    code: int,
    expected: str,
) -> None:
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")

    response = await client.post(path, json=recipient_report(message_id, status, code))

    assert response.status_code == 200, response.text
    await apply_reports(sessionmaker, clock)
    message = await load_message(sessionmaker, message_id)
    assert message.delivery == expected
    if expected == "undelivered":
        assert message.failure_detail == f"Sinch: {status} - {CODES[code]} (code {code})"


async def test_queued_then_delivered_then_a_repeat(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")
    answers = [
        await client.post(path, json=recipient_report(message_id, status, code))
        for status, code in (("Dispatched", 401), ("Delivered", 0), ("Delivered", 0))
    ]
    assert [a.json()["stored"] for a in answers] == [1, 1, 0]
    await apply_reports(sessionmaker, clock)
    assert (await load_message(sessionmaker, message_id)).delivery == "delivered"


async def test_a_batch_summary_report(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")
    body = {
        "type": "delivery_report_sms",
        "batch_id": "01FC66621XXXXX119Z8PMV1QPQ",
        "client_reference": message_id,
        "total_message_count": 1,
        "statuses": [{"code": 0, "status": "Delivered", "count": 1}],
    }
    assert (await client.post(path, json=body)).json() == {"received": 1, "stored": 1}
    await apply_reports(sessionmaker, clock)
    assert (await load_message(sessionmaker, message_id)).delivery == "delivered"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": "mo_text", "id": "1"}, "not an SMS delivery report"),
        ({"batch_id": "b", "status": "Delivered", "code": 0}, "not an SMS delivery report"),
        ({"type": "recipient_delivery_report_sms", "status": "Delivered", "code": 0}, "batch_id"),
        ({"type": "recipient_delivery_report_sms", "batch_id": "b", "code": 0}, "status"),
        ({"type": "delivery_report_sms", "batch_id": "b", "statuses": "x"}, "statuses"),
    ],
)
async def test_malformed_bodies_are_400(
    client: httpx.AsyncClient, clinic: ClinicAccess, body: dict[str, Any], reason: str
) -> None:
    path = await webhook_path(client, clinic, "sinch", "delivery")
    response = await client.post(path, json=body)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
