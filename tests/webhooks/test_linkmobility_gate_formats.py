"""A LINK gate posts delivery reports and inbound SMS as JSON, XML or form data, whichever
its destination is set up with (LINK Common Gate API: `contentType`). The fields are the
documented ones (MT/DLR v1.18 pp. 22-23, MO v1.7); XML carries them as elements named like
the JSON keys, form data as fields (nested ones dotted)."""

import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.replies.models import Reply
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.webhooks.helpers import (
    NUMBER,
    apply_reports,
    load_message,
    sent_message,
    stored_count,
    webhook_path,
)

FORM = "application/x-www-form-urlencoded"


def dlr_json(message_id: str, code: int) -> dict[str, Any]:
    return {
        "refId": message_id,
        "id": "Dcshuhod0PMAAAFQ$0",
        "operator": "no.telenor",
        "sentTimestamp": "2026-11-30T10:00:00Z",
        "timestamp": "2026-11-30T10:00:05Z",
        "resultCode": code,
        "operatorResultCode": "2",
        "segments": 1,
        "gateCustomParameters": {},
        "customParameters": {"received": "2026-11-30 11:00:06"},
    }


def dlr_xml(message_id: str, code: int) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<deliveryReport>
  <refId>{message_id}</refId>
  <id>Dcshuhod0PMAAAFQ$0</id>
  <operator>no.telenor</operator>
  <sentTimestamp>2026-11-30T10:00:00Z</sentTimestamp>
  <timestamp>2026-11-30T10:00:05Z</timestamp>
  <resultCode>{code}</resultCode>
  <operatorResultCode>2</operatorResultCode>
  <segments>1</segments>
  <gateCustomParameters/>
  <customParameters><received>2026-11-30 11:00:06</received></customParameters>
</deliveryReport>""".encode()


def dlr_form(message_id: str, code: int) -> bytes:
    fields = dlr_json(message_id, code)
    del fields["gateCustomParameters"], fields["customParameters"]
    return urlencode(fields | {"customParameters.received": "2026-11-30 11:00:06"}).encode()


DLR_FORMATS: dict[str, tuple[Callable[[str, int], bytes], str]] = {
    "json": (
        lambda message_id, code: json.dumps(dlr_json(message_id, code)).encode(),
        "application/json",
    ),
    "xml": (dlr_xml, "application/xml"),
    "form": (dlr_form, FORM),
}


async def stored_replies(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Reply]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Reply))).scalars())


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "sniffed"])
@pytest.mark.parametrize("kind", list(DLR_FORMATS))
async def test_a_delivery_report_in_each_format(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    kind: str,
    declared: bool,
) -> None:
    message_id = await sent_message(client, clinic, sessionmaker, clock)
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    build, content_type = DLR_FORMATS[kind]
    headers = {"Content-Type": content_type if declared else "application/octet-stream"}

    response = await client.post(path, content=build(message_id, 1001), headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "stored": 1}
    await apply_reports(sessionmaker, clock)
    message = await load_message(sessionmaker, message_id)
    assert message.delivery == "delivered"


async def test_an_xml_body_wrapping_several_reports(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    first = await sent_message(client, clinic, sessionmaker, clock)
    second = await sent_message(client, clinic, sessionmaker, clock, to="+4791234568")
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    reports = [dlr_xml(first, 1001), dlr_xml(second, 2106).replace(b"AAFQ$0", b"AAFQ$1")]
    inner = b"".join(report.split(b"?>", 1)[1] for report in reports)

    response = await client.post(
        path,
        content=b"<deliveryReports>" + inner + b"</deliveryReports>",
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )

    assert response.json() == {"received": 2, "stored": 2}
    await apply_reports(sessionmaker, clock)
    assert (await load_message(sessionmaker, first)).delivery == "delivered"
    assert (await load_message(sessionmaker, second)).delivery == "undelivered"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<deliveryReport><id>&lol2;</id><resultCode>1001</resultCode></deliveryReport>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<deliveryReport><id>&x;</id><resultCode>1001</resultCode></deliveryReport>"""


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (BILLION_LAUGHS, "application/xml", "DTD"),
        (EXTERNAL_ENTITY, "application/xml", "DTD"),
        (b"<deliveryReport><id>1</id>", "application/xml", "not well-formed XML"),
        (b"<deliveryReport>text</deliveryReport>", "application/xml", "no fields"),
        (b"<r>" + b"<a>" * 9 + b"1" + b"</a>" * 9 + b"</r>", "application/xml", "nested"),
        (b"id=abc&resultCode=delivered", FORM, "`resultCode`"),
        (b"resultCode=1001", FORM, "`id`"),
        (b"\xff\xfe", FORM, "not a form"),
    ],
)
async def test_a_bad_xml_or_form_report_is_400_and_stores_nothing(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: bytes,
    content_type: str,
    reason: str,
) -> None:
    path = await webhook_path(client, clinic, "linkmobility", "delivery")

    response = await client.post(path, content=body, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-webhook"
    assert reason in response.json()["detail"]
    assert await stored_count(sessionmaker) == 0


def mo_json(text: str, keyword: str | None = "TANN") -> dict[str, Any]:
    body: dict[str, Any] = {
        "destination": "NO-2333",
        "subNumber": None,
        "source": NUMBER,
        "content": {"type": "SMS", "userData": text, "encoding": "TEXT"},
        "operator": "no.telenor",
        "timestamp": "2026-11-30T10:05:00Z",
        "messageId": uuid.uuid4().hex,
        "operatorTimestamp": "2026-11-30T10:04:59Z",
        "operatorMessageId": "op-1",
    }
    if keyword:
        body["route"] = {
            "type": "KEYWORD_ROUTE",
            "keyword": keyword,
            "keywordType": "FIRST_WORD",
            "number": "2333",
            "active": True,
        }
    return body


def mo_xml(text: str, keyword: str | None = "TANN") -> bytes:
    route = (
        f"<route><type>KEYWORD_ROUTE</type><keyword>{keyword}</keyword>"
        "<keywordType>FIRST_WORD</keywordType><number>2333</number></route>"
        if keyword
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<moMessage>
  <destination>NO-2333</destination>
  <subNumber/>
  <source>{NUMBER}</source>
  <content><type>SMS</type><userData>{text}</userData><encoding>TEXT</encoding></content>
  <operator>no.telenor</operator>
  <timestamp>2026-11-30T10:05:00Z</timestamp>
  <messageId>{uuid.uuid4().hex}</messageId>
  {route}
</moMessage>""".encode()


def mo_form(text: str, keyword: str | None = "TANN") -> bytes:
    fields = {
        "destination": "NO-2333",
        "source": NUMBER,
        "content.type": "SMS",
        "content.userData": text,
        "content.encoding": "TEXT",
        "operator": "no.telenor",
        "timestamp": "2026-11-30T10:05:00Z",
        "messageId": uuid.uuid4().hex,
    }
    if keyword:
        fields |= {"route.type": "KEYWORD_ROUTE", "route.keyword": keyword}
    return urlencode(fields).encode()


MO_FORMATS: dict[str, tuple[Callable[[str], bytes], str]] = {
    "json": (lambda text: json.dumps(mo_json(text)).encode(), "application/json"),
    "xml": (mo_xml, "application/xml"),
    "form": (mo_form, FORM),
}


async def confirmable_reminder(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> str:
    await put_patient(client, clinic, "1001")
    await client.patch("/v1/settings", headers=clinic.headers, json={"reply_number": "NO-2333"})
    return await sent_message(
        client,
        clinic,
        sessionmaker,
        clock,
        to=None,
        text=None,
        patient_no="1001",
        template_type="reminder_1",
        merge_values={"Tidspunkt": "tirsdag 1. desember kl. 14:30"},
        practitioner="Tannlege Hansen",
        appointment_id="A-1",
    )


@pytest.mark.parametrize("kind", list(MO_FORMATS))
async def test_a_keyword_routed_reply_in_each_format_confirms(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    kind: str,
) -> None:
    message_id = await confirmable_reminder(client, clinic, sessionmaker, clock)
    path = await webhook_path(client, clinic, "linkmobility", "inbound")
    build, content_type = MO_FORMATS[kind]

    response = await client.post(
        path, content=build("TANN ja, jeg kommer"), headers={"Content-Type": content_type}
    )

    assert response.status_code == 200, response.text
    [reply] = await stored_replies(sessionmaker)
    assert (reply.keyword, reply.message_id) == ("confirm", uuid.UUID(message_id))
    assert reply.text == "TANN ja, jeg kommer"  # stored as the patient wrote it
    assert (reply.from_number, reply.to_number) == (NUMBER, "2333")


@pytest.mark.parametrize(
    ("text", "routing_keyword", "expected"),
    [
        ("TANN nei", "TANN", "cancel"),
        ("tann STOPP", "TANN", "stop"),
        ("TANN", "TANN", None),
        ("Ja takk", "TANN", "confirm"),  # the keyword left out: read as it is
        ("JA", "JA", "confirm"),  # routed by the confirm word itself
        ("STOPP", "STOPP", "stop"),  # routed by STOPP itself
        ("TANN ja", None, None),  # no route: TANN is the first word
    ],
)
async def test_the_routing_keyword_is_read_past(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    text: str,
    routing_keyword: str | None,
    expected: str | None,
) -> None:
    await confirmable_reminder(client, clinic, sessionmaker, clock)
    path = await webhook_path(client, clinic, "linkmobility", "inbound")

    response = await client.post(path, json=mo_json(text, routing_keyword))

    assert response.status_code == 200, response.text
    [reply] = await stored_replies(sessionmaker)
    assert reply.keyword == expected


async def test_a_short_number_is_a_valid_reply_address_and_is_the_sender(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    for given, stored in (("NO-2333", "2333"), ("2333", "2333"), ("+4790012345", "+4790012345")):
        response = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"reply_number": given}
        )
        assert response.status_code == 200, response.text
        assert response.json()["reply_number"] == stored


@pytest.mark.parametrize("given", ["90012345", "23", "NO-", "+4712"])
async def test_neither_a_number_nor_a_short_number_is_422(
    client: httpx.AsyncClient, clinic: ClinicAccess, given: str
) -> None:
    response = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"reply_number": given}
    )
    assert response.status_code == 422
    assert "reply_number" in response.text
    shown = await client.get("/v1/settings", headers=clinic.headers)
    assert shown.json()["reply_number"] is None


async def test_the_settings_say_how_to_set_up_the_gates(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"provider": "linkmobility"}
    )

    setup = response.json()["webhook_setup"]
    assert setup["formats"] == ["application/json", "application/xml", FORM]
    for needed in ("gate", "delivery URL", "inbound URL", "gate_id", "short number"):
        assert needed in setup["steps"]
    sandbox = await client.patch(
        "/v1/settings", headers=clinic.headers, json={"provider": "sandbox"}
    )
    assert sandbox.json()["webhook_setup"] is None
