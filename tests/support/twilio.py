"""Twilio's side of the webhook tests: a clinic on Twilio, the forms of its status callbacks
and inbound messages, and the headers Twilio signs them with. Signatures come from the
official library's RequestValidator, never from our own code."""

import uuid
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator, get_signature_algorithm

from tests.conftest import ClinicAccess
from tests.webhooks.helpers import webhook_path

AUTH_TOKEN = "twilio-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://sms.example.test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def configure_twilio(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={
            "provider": "twilio",
            "reply_number": "+4790000000",
            "provider_credentials": {
                "twilio": {
                    "account_sid": "AC0123456789abcdef0123456789abcdef",
                    "auth_token": AUTH_TOKEN,
                }
            },
        },
    )
    assert response.status_code == 200, response.text


def callback(message_id: str, status: str, error_code: str | None = None) -> dict[str, str]:
    form = {
        "AccountSid": "AC1",
        "From": "+4790000000",
        "To": "+4791234567",
        "MessageSid": "SM0123456789abcdef",
        "SmsSid": "SM0123456789abcdef",
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def inbound(body: str = "JA") -> dict[str, str]:
    return {
        "AccountSid": "AC1",
        "MessageSid": "SM0123456789abcdef",
        "From": "+4791234567",
        "To": "+4790000000",
        "Body": body,
    }


async def callback_path(client: httpx.AsyncClient, clinic: ClinicAccess, message_id: str) -> str:
    path = await webhook_path(client, clinic, "twilio", "delivery")
    return f"{path}?{urlencode({'message_id': message_id})}"


def signed_twilio_callback(
    path: str, form: dict[str, str], *, key: str = AUTH_TOKEN, settings: str | None = None
) -> dict[str, str]:
    """The headers Twilio posts `form` to `path` with: signed with the auth token, or, with
    the `settings` of a Webhook Rule, with its SharedKey; each with its idempotency token."""
    validator = RequestValidator(key)
    algorithm = get_signature_algorithm(settings)
    url = PUBLIC_BASE_URL + path
    headers = FORM | {
        "X-Twilio-Signature": validator.compute_signature(url, form, algorithm),
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
    }
    assert validator.validate(url, form, headers["X-Twilio-Signature"], algorithm)
    if settings is not None:
        headers["X-Twilio-Webhooks-Signature-Settings"] = settings
    return headers


async def post_form(
    client: httpx.AsyncClient, path: str, form: dict[str, str], headers: dict[str, str] = FORM
) -> httpx.Response:
    return await client.post(path, content=urlencode(form), headers=headers)


async def post_signed(
    client: httpx.AsyncClient, path: str, form: dict[str, str], *, key: str = AUTH_TOKEN
) -> httpx.Response:
    """`form` posted as Twilio posts it, signed with `key` (the auth token)."""
    return await post_form(client, path, form, signed_twilio_callback(path, form, key=key))
