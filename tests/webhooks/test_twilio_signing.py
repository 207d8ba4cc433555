"""Twilio webhooks signed with a SharedKey (HMAC-SHA256, Webhook Rules) beside the auth
token, repeats dropped by `I-Twilio-Idempotency-Token`, and `RawDlrDoneDate` as the
delivery time. Genuine signatures come from the official library's RequestValidator."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.replies.models import Reply
from tests.conftest import ClinicAccess
from tests.support.twilio import (
    callback,
    callback_path,
    configure_twilio,
    inbound,
    post_form,
    signed_twilio_callback,
)
from tests.webhooks.helpers import (
    apply_reports,
    load_message,
    sent_message,
    stored_count,
    webhook_path,
)

SHARED_KEY = "whsk_9f2c4e1a7b3d5f60a8e2c4b6d8f0a1c3"
SETTINGS = "key=webhooks_sharedkey_01jxyz0123456789abcdefghij,algorithm=HMAC_SHA256"


async def configure_shared_key(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    await configure_twilio(client, clinic)
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"provider_credentials": {"twilio": {"webhook_shared_key": SHARED_KEY}}},
    )
    assert response.status_code == 200, response.text
    assert "webhook_shared_key" in response.json()["credentials_set"]["twilio"]


def signed_headers(
    path: str, form: dict[str, str], *, key: str = SHARED_KEY, settings: str | None = SETTINGS
) -> dict[str, str]:
    """As Twilio signs a webhook a Webhook Rule applies a SharedKey to."""
    return signed_twilio_callback(path, form, key=key, settings=settings)


class TestSharedKey:
    async def test_a_report_signed_with_the_shared_key_is_taken(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await configure_shared_key(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        form = callback(message_id, "delivered")

        response = await post_form(client, path, form, signed_headers(path, form))

        assert response.status_code == 200, response.text
        assert response.json() == {"received": 1, "stored": 1}
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"

    async def test_an_inbound_signed_with_the_shared_key_is_taken(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await configure_shared_key(client, clinic)
        path = await webhook_path(client, clinic, "twilio", "inbound")
        form = inbound("STOPP")

        response = await post_form(client, path, form, signed_headers(path, form))

        assert response.status_code == 200, response.text
        assert response.text.endswith("<Response></Response>")
        async with sessionmaker() as session:
            [reply] = (await session.execute(select(Reply))).scalars()
        assert reply.keyword == "stop"

    async def test_the_auth_token_scheme_still_works_beside_it(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await configure_shared_key(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        form = callback(message_id, "delivered")

        headers = signed_twilio_callback(path, form)
        response = await post_form(client, path, form, headers)

        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "forgery",
        [
            "wrong key",
            "auth token signature with shared-key settings",
            "shared-key signature without its settings header",
            "unsupported algorithm",
            "tampered body",
        ],
    )
    async def test_a_forged_shared_key_signature_is_401_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        forgery: str,
    ) -> None:
        await configure_shared_key(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        form = callback(message_id, "delivered")
        headers = signed_headers(path, form)
        if forgery == "wrong key":
            headers = signed_headers(path, form, key="whsk_not_the_key")
        elif forgery == "auth token signature with shared-key settings":
            headers = signed_twilio_callback(path, form)
            headers["X-Twilio-Webhooks-Signature-Settings"] = SETTINGS
        elif forgery == "shared-key signature without its settings header":
            del headers["X-Twilio-Webhooks-Signature-Settings"]
        elif forgery == "unsupported algorithm":
            headers["X-Twilio-Webhooks-Signature-Settings"] = "key=k,algorithm=HMAC_MD5"
        else:
            form = form | {"MessageStatus": "undelivered"}

        response = await post_form(client, path, form, headers)

        assert response.status_code == 401
        assert response.json()["type"] == "/problems/bad-signature"
        assert await stored_count(sessionmaker) == 0

    async def test_a_shared_key_signature_without_a_key_configured_is_401(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await configure_twilio(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        form = callback(message_id, "delivered")

        response = await post_form(client, path, form, signed_headers(path, form))

        assert response.status_code == 401
        assert "webhook shared key" in response.json()["detail"]
        assert await stored_count(sessionmaker) == 0


class TestIdempotencyToken:
    async def test_a_repeated_report_webhook_is_dropped_by_its_token(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await configure_shared_key(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        first_form = callback(message_id, "sent")
        first = signed_headers(path, first_form)
        # The same webhook again (same token); its body differs only to tell it apart.
        again_form = callback(message_id, "delivered")
        again = signed_headers(path, again_form) | {
            "I-Twilio-Idempotency-Token": first["I-Twilio-Idempotency-Token"]
        }

        assert (await post_form(client, path, first_form, first)).json()["stored"] == 1
        repeated = await post_form(client, path, again_form, again)

        assert repeated.status_code == 200
        assert repeated.json() == {"received": 1, "stored": 0}
        assert await stored_count(sessionmaker) == 1

    async def test_a_failed_webhook_is_taken_when_twilio_tries_again(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await configure_shared_key(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        form = callback(message_id, "delivered")
        headers = signed_headers(path, form)
        bad_form = {**form, "MessageSid": "x" * 200}
        bad = signed_headers(path, bad_form) | {
            "I-Twilio-Idempotency-Token": headers["I-Twilio-Idempotency-Token"]
        }

        assert (await post_form(client, path, bad_form, bad)).status_code == 400
        retried = await post_form(client, path, form, headers)

        assert retried.json() == {"received": 1, "stored": 1}

    async def test_a_repeated_inbound_webhook_stores_no_second_reply(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await configure_shared_key(client, clinic)
        path = await webhook_path(client, clinic, "twilio", "inbound")
        form = inbound("Hei")
        headers = signed_headers(path, form)
        again_form = {**form, "MessageSid": "SM-told-apart"}
        again = signed_headers(path, again_form) | {
            "I-Twilio-Idempotency-Token": headers["I-Twilio-Idempotency-Token"]
        }

        assert (await post_form(client, path, form, headers)).status_code == 200
        repeated = await post_form(client, path, again_form, again)

        assert repeated.status_code == 200
        async with sessionmaker() as session:
            count = await session.execute(select(func.count()).select_from(Reply))
        assert count.scalar_one() == 1


@pytest.mark.parametrize(
    ("raw_done_date", "delivered_at"),
    [
        ("2611300958", datetime(2026, 11, 30, 9, 58, tzinfo=UTC)),
        ("2611301130", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),  # ahead: the arrival
        ("26113009", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),  # unreadable: the arrival
        ("2613300958", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),  # month 13
    ],
)
async def test_raw_dlr_done_date_is_the_delivery_time(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    raw_done_date: str,
    delivered_at: datetime,
) -> None:
    await configure_twilio(client, clinic)
    message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
    path = await callback_path(client, clinic, message_id)
    form = callback(message_id, "delivered") | {"RawDlrDoneDate": raw_done_date}

    response = await post_form(client, path, form, signed_twilio_callback(path, form))

    assert response.status_code == 200, response.text
    await apply_reports(sessionmaker, clock)
    assert (await load_message(sessionmaker, message_id)).delivered_at == delivered_at
