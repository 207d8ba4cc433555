"""Sinch's HMAC callback signature, checked once the clinic sets its callback secret:
base64(HMAC-SHA256(secret, `{body}.{nonce}.{timestamp}`)) in `x-sinch-webhook-signature`,
as the official SDKs validate it. Without a secret the URL secret stays the only check."""

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.replies.models import Reply
from app.webhooks.sinch import signature
from tests.conftest import ClinicAccess
from tests.replies.test_inbound import link_mo
from tests.webhooks.helpers import (
    NUMBER,
    apply_reports,
    load_message,
    sent_message,
    stored_count,
    webhook_path,
)
from tests.webhooks.test_sinch_reports import recipient_report

SECRET = "sinch-callback-secret-4f1e"
NONCE = "01FJA8B4A7BM43YGWSG9GBV067"
TIMESTAMP = "1796032800"


def test_the_sdks_test_vector() -> None:
    # From the Sinch .NET SDK's webhook tests (same signing as the Python SDK's
    # validate_webhook_signature_with_nonce).
    body = (
        '{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":'
        '"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":'
        '{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS",'
        '"identity":"48123456789","app_id":""}],"display_name":"New Test Contact","email":'
        '"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},'
        '"message_metadata":""}'
    )
    assert (
        signature(body.encode(), NONCE, "1634579353", "foo_secret1234")
        == "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE="
    )


def signed(body: bytes, secret: str = SECRET, **overrides: str) -> dict[str, str]:
    """Headers as Sinch sends them, computed here from the documented formula."""
    mac = hmac.new(secret.encode(), body + f".{NONCE}.{TIMESTAMP}".encode(), hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "x-sinch-webhook-signature": base64.b64encode(mac.digest()).decode(),
        "x-sinch-webhook-signature-nonce": NONCE,
        "x-sinch-webhook-signature-timestamp": TIMESTAMP,
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
    } | overrides


async def set_callback_secret(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={
            "provider": "sinch",
            "reply_number": "+4790000000",
            "provider_credentials": {
                "sinch": {
                    "service_plan_id": "plan1",
                    "api_token": "tok",
                    "callback_secret": SECRET,
                }
            },
        },
    )
    assert response.status_code == 200, response.text


async def stored_replies(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Reply))).scalar_one())


def mo_text(text: str) -> dict[str, Any]:
    return {
        "type": "mo_text",
        "id": "01FC66621VHDBN119Z8PMV1AHY",
        "from": NUMBER.lstrip("+"),
        "to": "4790000000",
        "body": text,
        "received_at": "2026-11-30T10:01:00.000Z",
        "operator_id": "24201",
    }


async def test_a_signed_report_is_taken(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await set_callback_secret(client, clinic)
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")
    body = json.dumps(recipient_report(message_id, "Delivered", 0)).encode()

    response = await client.post(path, content=body, headers=signed(body))

    assert response.status_code == 200, response.text
    await apply_reports(sessionmaker, clock)
    assert (await load_message(sessionmaker, message_id)).delivery == "delivered"


FORGERIES = {
    "unsigned": lambda body: {"Content-Type": "application/json"},
    "wrong secret": lambda body: signed(body, secret="not-the-secret"),
    "no nonce": lambda body: {
        k: v for k, v in signed(body).items() if k != "x-sinch-webhook-signature-nonce"
    },
    "other timestamp": lambda body: signed(body) | {"x-sinch-webhook-signature-timestamp": "1"},
    "other algorithm": lambda body: signed(
        body, **{"x-sinch-webhook-signature-algorithm": "HmacMD5"}
    ),
    "tampered body": lambda body: signed(body.replace(b"Delivered", b"Failed")),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_a_forged_report_is_401_and_stores_nothing(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    forgery: str,
) -> None:
    await set_callback_secret(client, clinic)
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")
    body = json.dumps(recipient_report(message_id, "Delivered", 0)).encode()

    response = await client.post(path, content=body, headers=FORGERIES[forgery](body))

    assert response.status_code == 401
    assert response.json()["type"] == "/problems/bad-signature"
    assert await stored_count(sessionmaker) == 0


async def test_a_signed_reply_is_taken_and_a_forged_one_refused(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await set_callback_secret(client, clinic)
    path = await webhook_path(client, clinic, "sinch", "inbound")
    body = json.dumps(mo_text("STOPP")).encode()

    forged = await client.post(path, content=body, headers=signed(body, secret="guess"))
    genuine = await client.post(path, content=body, headers=signed(body))

    assert forged.status_code == 401
    assert genuine.status_code == 200, genuine.text
    assert await stored_replies(sessionmaker) == 1


async def test_without_a_secret_the_url_secret_is_the_check(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")

    response = await client.post(path, json=recipient_report(message_id, "Delivered", 0))

    assert response.status_code == 200
    assert response.json()["stored"] == 1


async def test_a_signing_sinch_clinic_takes_no_replies_through_an_unsigned_url(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await set_callback_secret(client, clinic)
    path = await webhook_path(client, clinic, "linkmobility", "inbound")

    response = await client.post(path, json=link_mo("STOPP"))

    assert response.status_code == 404
    assert await stored_replies(sessionmaker) == 0
