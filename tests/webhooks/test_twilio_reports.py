"""Twilio status callbacks: the signature (test vectors from twilio-python), every status,
and our message id riding in the callback URL."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.webhooks.twilio import STATUSES, signature, signature_is_valid
from tests.conftest import ClinicAccess
from tests.support.twilio import (
    callback,
    callback_path,
    configure_twilio,
    inbound,
    post_form,
    post_signed,
    signed_twilio_callback,
)
from tests.webhooks.helpers import (
    apply_reports,
    load_message,
    sent_message,
    stored_count,
    webhook_path,
)

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]

DOCUMENTED: list[tuple[str, str]] = [
    ("accepted", "accepted"),
    ("scheduled", "accepted"),
    ("queued", "accepted"),
    ("sending", "accepted"),
    ("sent", "accepted"),
    ("receiving", "accepted"),
    ("received", "accepted"),
    ("delivered", "delivered"),
    ("read", "delivered"),
    ("undelivered", "undelivered"),
    ("failed", "undelivered"),
    ("canceled", "undelivered"),
    ("partially_delivered", "unknown"),
]


class TestSignatureVectors:
    def test_form_parameters(self) -> None:
        assert signature(VECTOR_URL, VECTOR_PARAMS, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="

    def test_with_the_default_port(self) -> None:
        url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        assert signature(url, VECTOR_PARAMS, "12345") == "kvajT1Ptam85bY51eRf/AJRuM3w="

    def test_repeated_parameters_are_sorted(self) -> None:
        params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
        assert signature(VECTOR_URL, params, "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU="

    def test_a_signature_over_either_port_form_is_accepted(self) -> None:
        with_port = "kvajT1Ptam85bY51eRf/AJRuM3w="
        assert signature_is_valid(VECTOR_URL, VECTOR_PARAMS, "12345", with_port)
        assert not signature_is_valid(VECTOR_URL, VECTOR_PARAMS, "54321", with_port)
        assert not signature_is_valid(VECTOR_URL, VECTOR_PARAMS, "12345", None)


def test_every_documented_status_is_mapped() -> None:
    assert set(STATUSES) == {status for status, _ in DOCUMENTED}


@pytest.mark.parametrize(("status", "expected"), DOCUMENTED, ids=[s for s, _ in DOCUMENTED])
async def test_status_sets_the_delivery_state(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    status: str,
    expected: str,
) -> None:
    await configure_twilio(client, clinic)
    message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
    path = await callback_path(client, clinic, message_id)
    error_code = "30003" if expected == "undelivered" else None

    response = await post_signed(client, path, callback(message_id, status, error_code))

    assert response.status_code == 200, response.text
    await apply_reports(sessionmaker, clock)
    message = await load_message(sessionmaker, message_id)
    assert message.delivery == expected
    if expected == "undelivered":
        assert message.failure_detail == (
            f"Twilio: {status} - unreachable destination handset (error 30003)"
        )


class TestSignatureChecks:
    @pytest.mark.parametrize("forgery", ["wrong token", "missing", "tampered body"])
    async def test_a_bad_signature_is_401_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        forgery: str,
    ) -> None:
        await configure_twilio(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        form = callback(message_id, "delivered")
        if forgery == "wrong token":
            response = await post_signed(client, path, form, key="not-the-token")
        elif forgery == "missing":
            response = await post_form(client, path, form)
        else:
            tampered = form | {"MessageStatus": "undelivered"}
            response = await post_form(client, path, tampered, signed_twilio_callback(path, form))
        assert response.status_code == 401
        assert response.json()["type"] == "/problems/bad-signature"
        assert await stored_count(sessionmaker) == 0

    async def test_the_signed_url_includes_our_query(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await configure_twilio(client, clinic)
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        bare = path.split("?")[0]
        form = callback(message_id, "delivered")
        response = await post_form(client, path, form, signed_twilio_callback(bare, form))
        assert response.status_code == 401

    async def test_no_auth_token_configured_is_401(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
        path = await callback_path(client, clinic, message_id)
        response = await post_signed(client, path, callback(message_id, "delivered"))
        assert response.status_code == 401
        assert "auth token" in response.json()["detail"]

    async def test_a_signed_but_malformed_body_is_400(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await configure_twilio(client, clinic)
        path = await webhook_path(client, clinic, "twilio", "delivery")
        response = await post_signed(client, path, {"MessageSid": "SM1"})
        assert response.status_code == 400
        assert "MessageStatus" in response.json()["detail"]

    async def test_without_our_id_in_the_url_it_is_acknowledged(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await configure_twilio(client, clinic)
        path = await webhook_path(client, clinic, "twilio", "delivery")
        response = await post_signed(client, path, callback("x", "delivered"))
        assert response.status_code == 200
        assert response.json() == {"received": 1, "stored": 0}
        assert await stored_count(sessionmaker) == 0


class TestUnstorableFields:
    """Signed, so the signature check passes: the field itself must be refused (PostgreSQL
    cannot store a NUL, nor our columns an endless id)."""

    @pytest.mark.parametrize("field", ["MessageSid", "MessageStatus", "ErrorCode", "From", "To"])
    @pytest.mark.parametrize("value", ["de\x00livered", "x" * 100_000], ids=["nul", "long"])
    async def test_a_report_field_is_400_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        field: str,
        value: str,
    ) -> None:
        await configure_twilio(client, clinic)
        path = await webhook_path(client, clinic, "twilio", "delivery")
        form = {**callback("x", "undelivered", "30003"), field: value}
        form.pop("SmsSid" if field == "MessageSid" else "SmsStatus")
        if field in ("From", "To"):
            path = await webhook_path(client, clinic, "twilio", "inbound")
            form = {**inbound(), field: value}
        response = await post_signed(client, path, form)
        assert response.status_code == 400, response.text
        assert field in response.json()["detail"]
        assert await stored_count(sessionmaker) == 0

    @pytest.mark.parametrize("value", ["J\x00A", "x" * 1601], ids=["nul", "long"])
    async def test_an_inbound_body_is_400(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, value: str
    ) -> None:
        await configure_twilio(client, clinic)
        path = await webhook_path(client, clinic, "twilio", "inbound")
        response = await post_signed(client, path, inbound(value))
        assert response.status_code == 400, response.text
        assert "Body" in response.json()["detail"]
