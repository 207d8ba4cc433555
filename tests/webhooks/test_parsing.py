"""Hostile or broken webhook bodies are a 400 (or a harmless 200), never a 500."""

import httpx
import pytest

from app.webhooks.linkmobility import parse_delivery
from app.webhooks.parsing import (
    MalformedWebhook,
    json_body,
    message_text,
    required_int,
    required_text,
    timestamp,
)
from tests.conftest import ClinicAccess
from tests.webhooks.helpers import NUMBER, webhook_path


@pytest.mark.parametrize("value", ["²", "--1", "1" * 5000, "12a", 2**40, " ", True])
def test_what_is_not_a_plain_integer_is_malformed(value: object) -> None:
    with pytest.raises(MalformedWebhook):
        required_int({"code": value}, "code")


def test_integers_in_text_or_numbers_are_read() -> None:
    assert [required_int({"code": v}, "code") for v in ("1001", " -3 ", 42)] == [1001, -3, 42]


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "ok \udfff"])
def test_text_a_database_cannot_store_is_malformed(text: str) -> None:
    with pytest.raises(MalformedWebhook):
        required_text({"field": text}, "field")
    with pytest.raises(MalformedWebhook):
        message_text({"field": text}, "field")


def test_a_provider_id_longer_than_its_column_is_malformed() -> None:
    with pytest.raises(MalformedWebhook, match="longer than 100"):
        parse_delivery(b'{"id": "%s", "resultCode": 1001}' % (b"x" * 100_000))
    assert parse_delivery(b'{"id": "%s", "resultCode": 1001}' % (b"x" * 100))[0].external_id


def test_an_sms_text_longer_than_ten_parts_is_malformed() -> None:
    with pytest.raises(MalformedWebhook):
        message_text({"body": "x" * 1601}, "body")
    assert message_text({"body": "x" * 1600}, "body")


def test_deeply_nested_json_is_malformed() -> None:
    with pytest.raises(MalformedWebhook):
        json_body(b"[" * 200_000)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_beyond_the_calendar_is_no_time(value: str) -> None:
    assert timestamp({"at": value}, "at") is None


def test_a_part_number_beyond_any_part_is_no_part() -> None:
    [report] = parse_delivery(b'{"refId": "x", "id": "abc$99999999999999999999", "resultCode": 0}')
    assert report.part is None


async def test_a_non_ascii_twilio_signature_is_refused_not_a_crash(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"provider_credentials": {"twilio": {"auth_token": "tw-token"}}},
    )
    path = await webhook_path(client, clinic, "twilio", "inbound")
    response = await client.post(
        path,
        content=b"MessageSid=SM1&From=%2B4791234567&Body=Hei",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": "blåbær".encode(),
        },
    )
    assert response.status_code == 401, response.text


async def test_an_inbound_text_with_a_lone_surrogate_is_a_400(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    path = await webhook_path(client, clinic, "linkmobility", "inbound")
    body = b'{"messageId": "m1", "source": "NUMBER", "content": {"userData": "Hei \\ud800"}}'
    body = body.replace(b"NUMBER", NUMBER.encode())
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
