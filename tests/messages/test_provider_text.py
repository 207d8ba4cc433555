"""Sending knows what the clinic's provider can carry, and sends the smart-encoded text."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.support.dispatch import RecordingProvider, dispatch_once

Json = dict[str, Any]
THURSDAY = "Vi ses på torsdag – husk å ta med frikortet"
TO = "+4791234567"


async def _set(client: httpx.AsyncClient, clinic: ClinicAccess, **changes: Any) -> None:
    response = await client.patch("/v1/settings", headers=clinic.headers, json=changes)
    assert response.status_code == 200, response.text


async def _send(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> httpx.Response:
    return await client.post("/v1/messages", headers=clinic.headers, json=body)


async def _bulk(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> httpx.Response:
    return await client.post("/v1/messages/bulk", headers=clinic.headers, json=body)


async def _stored(client: httpx.AsyncClient, clinic: ClinicAccess) -> list[Json]:
    response = await client.get("/v1/messages", headers=clinic.headers)
    assert response.status_code == 200, response.text
    data: list[Json] = response.json()["data"]
    return data


def _refusal(response: httpx.Response, field: str, characters: list[str]) -> Json:
    assert response.status_code == 422, response.text
    problem: Json = response.json()
    [error] = problem["errors"]
    assert (error["field"], error["code"]) == (field, "unsupported_characters")
    assert (problem["provider"], problem["characters"]) == ("linkmobility", characters)
    return problem


@pytest.fixture
async def on_link(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    await _set(client, clinic, provider="linkmobility")


@pytest.mark.usefixtures("on_link")
class TestWhatLinkCannotCarry:
    async def test_emoji_in_the_text_is_422_naming_them_and_nothing_is_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _send(client, clinic, to=TO, text="Velkommen 😊🦷 ser deg 😊")

        problem = _refusal(response, "text", ["😊", "🦷"])
        assert "😊 (U+1F60A), 🦷 (U+1F9B7)" in problem["detail"]
        assert "linkmobility" in problem["errors"][0]["reason"]
        assert await _stored(client, clinic) == []

    async def test_emoji_in_the_template_names_the_template(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, patient: Json
    ) -> None:
        await client.put(
            "/v1/templates/general",
            headers=clinic.headers,
            json={"text": "Hei [Fornavn] 🦷", "allow_reply": False},
        )

        response = await _send(client, clinic, patient_no="1001", template_type="general")

        _refusal(response, "template_type", ["🦷"])
        assert await _stored(client, clinic) == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param(
                {"text": "Se [URL]", "merge_values": {"URL": "https://x.no/😊"}},
                "merge_values.URL",
                id="merge-value",
            ),
            pytest.param(
                {"text": "Hilsen [Behandler]", "practitioner": "Tannlege 😊"},
                "practitioner",
                id="practitioner",
            ),
        ],
    )
    async def test_emoji_in_a_value_names_the_value(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, body: Json, field: str
    ) -> None:
        response = await _send(client, clinic, to=TO, **body)

        _refusal(response, field, ["😊"])
        assert await _stored(client, clinic) == []

    async def test_emoji_in_the_patients_name_names_the_patient(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "2002", first_name="Kari 🦷", wants_sms=True)

        response = await _send(client, clinic, patient_no="2002", text="Hei [Fornavn]")

        _refusal(response, "patient_no", ["🦷"])
        assert await _stored(client, clinic) == []

    async def test_everything_else_is_sent(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _send(client, clinic, to=TO, text="Hei Zoë – 中文 \uffff")

        assert response.status_code == 201, response.text

    async def test_bulk_with_emoji_in_the_template_is_422_and_nothing_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "1", wants_sms=True)
        await put_patient(client, clinic, "2", wants_sms=True)

        response = await _bulk(client, clinic, patient_nos=["1", "2"], text="Hei [Fornavn] 😊")

        _refusal(response, "text", ["😊"])
        assert await _stored(client, clinic) == []

    async def test_bulk_skips_a_patient_whose_name_has_emoji(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "1", wants_sms=True)
        await put_patient(client, clinic, "2", first_name="Ola 🦷", wants_sms=True)

        response = await _bulk(client, clinic, patient_nos=["1", "2"], text="Hei [Fornavn]")

        assert response.status_code == 200, response.text
        outcomes = [
            (o["patient_no"], o["outcome"], o["reason"]) for o in response.json()["outcomes"]
        ]
        assert outcomes == [("1", "queued", None), ("2", "skipped", "unsupported_characters")]
        assert [message["text"] for message in await _stored(client, clinic)] == ["Hei Kari"]


@pytest.mark.parametrize("provider", ["sandbox", "sinch", "twilio"])
async def test_other_providers_take_emoji(
    client: httpx.AsyncClient, clinic: ClinicAccess, provider: str
) -> None:
    await _set(client, clinic, provider=provider)

    response = await _send(client, clinic, to=TO, text="Velkommen 😊")

    assert response.status_code == 201, response.text


class TestSmartEncoding:
    async def test_the_text_is_stored_and_sent_as_gsm7(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await _set(client, clinic, sender_name="Tannlege")
        response = await _send(client, clinic, to=TO, text=THURSDAY)

        [message] = response.json()["data"]
        assert message["text"] == "Vi ses på torsdag - husk å ta med frikortet"
        assert (message["encoding"], message["segments"]) == ("GSM-7", 1)
        provider = RecordingProvider()
        await dispatch_once(sessionmaker, clock, provider)
        assert [sms.text for sms in provider.sent] == [message["text"]]

    async def test_switched_off_the_text_goes_as_written(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, smart_encoding=False)

        response = await _send(client, clinic, to=TO, text=THURSDAY)

        [message] = response.json()["data"]
        assert (message["text"], message["encoding"]) == (THURSDAY, "UCS-2")

    @pytest.mark.parametrize(("smart_encoding", "status"), [(True, 201), (False, 422)])
    async def test_the_cap_and_cost_count_the_text_as_sent(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, smart_encoding: bool, status: int
    ) -> None:
        # 101 characters: 2 UCS-2 segments as written, 1 GSM-7 segment as sent.
        await _set(
            client, clinic, max_segments=1, price_per_segment="0.45", smart_encoding=smart_encoding
        )

        response = await _send(client, clinic, to=TO, text="–" + "a" * 100)

        assert response.status_code == status, response.text
        if status == 201:
            [message] = response.json()["data"]
            assert message["segments"] == 1
            assert message["cost"] == {"amount": "0.45", "currency": "NOK"}
        else:
            assert response.json()["segments"] == 2

    async def test_bulk_stores_each_text_as_sent(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "1", wants_sms=True)
        await put_patient(client, clinic, "2", first_name="Ola", wants_sms=True)

        response = await _bulk(client, clinic, patient_nos=["1", "2"], text="Hei [Fornavn] – ses!")

        assert response.json()["queued"] == 2
        stored = sorted(message["text"] for message in await _stored(client, clinic))
        assert stored == ["Hei Kari - ses!", "Hei Ola - ses!"]
        assert {message["encoding"] for message in await _stored(client, clinic)} == {"GSM-7"}
