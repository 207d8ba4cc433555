"""Templates know the clinic's provider (what it can carry) and its smart encoding."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.clinic_settings.models import ClinicSettings
from app.sms.service import analyze_for
from app.templates.merge import parse
from app.templates.schemas import TemplatePreview
from tests.conftest import ClinicAccess

REMINDER_1 = "/v1/templates/reminder_1"
WITH_EMOJI = "Hei [Fornavn] 😊 Husk timen [Tidspunkt] 🦷"


async def _set(client: httpx.AsyncClient, clinic: ClinicAccess, **changes: Any) -> None:
    response = await client.patch("/v1/settings", headers=clinic.headers, json=changes)
    assert response.status_code == 200, response.text


async def _save(client: httpx.AsyncClient, clinic: ClinicAccess, text: str) -> dict[str, Any]:
    response = await client.put(
        REMINDER_1, headers=clinic.headers, json={"text": text, "allow_reply": True}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _preview(
    client: httpx.AsyncClient, clinic: ClinicAccess, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"{REMINDER_1}/preview", headers=clinic.headers, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


class TestWhatTheProviderCannotCarry:
    async def test_save_on_link_is_kept_with_a_warning_naming_the_emoji(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, provider="linkmobility")

        body = await _save(client, clinic, WITH_EMOJI)

        [warning] = body["warnings"]
        assert warning["code"] == "unsupported_characters"
        assert (warning["provider"], warning["characters"]) == ("linkmobility", ["😊", "🦷"])
        assert "😊 (U+1F60A), 🦷 (U+1F9B7)" in warning["detail"]
        assert body["analysis"]["warnings"] == [warning]
        stored = await client.get(REMINDER_1, headers=clinic.headers)
        assert stored.json()["text"] == WITH_EMOJI
        assert stored.json()["warnings"] == [warning]

    async def test_the_same_text_on_another_provider_has_no_warning(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, provider="sinch")

        body = await _save(client, clinic, WITH_EMOJI)

        assert body["warnings"] == []
        assert body["analysis"]["warnings"] == []

    async def test_the_warning_follows_a_change_of_provider(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _save(client, clinic, WITH_EMOJI)
        await _set(client, clinic, provider="linkmobility")

        listed = await client.get("/v1/templates", headers=clinic.headers)

        [reminder] = [item for item in listed.json()["data"] if item["type"] == "reminder_1"]
        assert [warning["code"] for warning in reminder["warnings"]] == ["unsupported_characters"]

    async def test_preview_flags_an_emoji_in_a_value(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, provider="linkmobility")

        body = await _preview(client, clinic, {"values": {"Fornavn": "Kari 🦷"}})

        assert body["warnings"] == [], "the saved template itself is fine"
        [warning] = body["analysis"]["warnings"]
        assert warning["characters"] == ["🦷"]

    async def test_preview_of_an_unsaved_text_flags_its_emoji(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, provider="linkmobility")

        body = await _preview(client, clinic, {"text": WITH_EMOJI})

        assert [warning["characters"] for warning in body["warnings"]] == [["😊", "🦷"]]
        assert body["analysis"]["warnings"][0]["characters"] == ["😊", "🦷"]


class TestSmartEncoding:
    async def test_the_analysis_shows_the_text_as_sent_and_the_template_is_kept(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        text = "Hei [Fornavn]! Vi ses på torsdag – husk å ta med frikortet."

        body = await _save(client, clinic, text)

        assert body["text"] == text
        analysis = body["analysis"]
        assert analysis["text"] == "Hei Kari! Vi ses på torsdag - husk å ta med frikortet."
        assert analysis["encoding"] == "GSM-7"
        assert analysis["smart_encoding"]["replaced"] == ["–"]
        assert analysis["smart_encoding"]["before"]["encoding"] == "UCS-2"

    async def test_preview_shows_the_rendered_text_and_how_it_is_sent(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _preview(client, clinic, {"text": "“Hei” [Fornavn]…"})

        assert body["text"] == "“Hei” Kari…"
        assert body["analysis"]["text"] == '"Hei" Kari...'
        assert body["analysis"]["smart_encoding"]["after"]["encoding"] == "GSM-7"

    @pytest.mark.parametrize(("smart_encoding", "warned"), [(True, False), (False, True)])
    async def test_the_segment_warning_counts_the_text_as_sent(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        smart_encoding: bool,
        warned: bool,
    ) -> None:
        # 101 characters: 2 UCS-2 segments as written, 1 GSM-7 segment as sent.
        await _set(client, clinic, max_segments=1, smart_encoding=smart_encoding)

        body = await _save(client, clinic, "–" + "a" * 100)

        assert [warning["code"] for warning in body["warnings"]] == (
            ["may_exceed_max_segments"] if warned else []
        )
        assert body["analysis"]["segments"] == (2 if warned else 1)


def test_the_documented_example_is_what_the_service_answers() -> None:
    [example] = TemplatePreview.model_json_schema()["examples"]
    settings = ClinicSettings(price_per_segment=Decimal("0.45"), max_segments=3)

    rendered = parse(example["template_text"]).render(example["values"])

    assert rendered == example["text"]
    assert analyze_for(rendered, settings).model_dump(mode="json") == example["analysis"]
