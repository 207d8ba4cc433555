from typing import Any

import httpx
import pytest

from tests.conftest import ClinicAccess

ANALYZE = "/v1/sms/analyze"


async def _analyze(client: httpx.AsyncClient, clinic: ClinicAccess, text: str) -> dict[str, Any]:
    response = await client.post(ANALYZE, headers=clinic.headers, json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestFigures:
    async def test_norwegian_text_is_gsm7(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        text = "Hei Åse! Husk timen hos Ærlig Øyvind i morgen. Svar JA for å bekrefte."
        body = await _analyze(client, clinic, text)
        figures = {
            "text": text,
            "encoding": "GSM-7",
            "length": len(text),
            "segments": 1,
            "cost": {"amount": "0.00", "currency": "NOK"},
        }
        assert body == {
            "text": text,
            "encoding": "GSM-7",
            "length": len(text),
            "segments": 1,
            "parts": [text],
            "ucs2_characters": [],
            "non_bmp_characters": [],
            "first_ucs2_position": None,
            "cost": {"amount": "0.00", "currency": "NOK"},
            "max_segments": 6,
            "exceeds_max_segments": False,
            "smart_encoding": {
                "enabled": True,
                "replaced": [],
                "before": figures,
                "after": figures,
            },
            "warnings": [],
        }

    async def test_extension_characters_count_two_septets(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _analyze(client, clinic, "Pris: 100€ {inkl. mva}")
        assert body["encoding"] == "GSM-7"
        assert body["length"] == 22 + 3

    @pytest.mark.parametrize(
        ("length", "segments", "part_lengths"),
        [(160, 1, [160]), (161, 2, [153, 8]), (306, 2, [153, 153]), (307, 3, [153, 153, 1])],
    )
    async def test_gsm7_segment_boundaries(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        length: int,
        segments: int,
        part_lengths: list[int],
    ) -> None:
        body = await _analyze(client, clinic, "a" * length)
        assert (body["length"], body["segments"]) == (length, segments)
        assert [len(part) for part in body["parts"]] == part_lengths

    async def test_a_name_outside_gsm7_forces_ucs2(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _analyze(client, clinic, "Hei Zoë og Łukasz!")
        assert body["encoding"] == "UCS-2"
        assert body["length"] == 18
        assert body["segments"] == 1
        assert body["ucs2_characters"] == ["ë", "Ł"]
        assert body["non_bmp_characters"] == []
        assert body["first_ucs2_position"] == 6

    @pytest.mark.parametrize(
        ("count", "length", "segments"), [(35, 70, 1), (36, 72, 2), (66, 132, 2), (67, 134, 3)]
    )
    async def test_emoji_count_two_units(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        count: int,
        length: int,
        segments: int,
    ) -> None:
        body = await _analyze(client, clinic, "😀" * count)
        assert body["encoding"] == "UCS-2"
        assert (body["length"], body["segments"]) == (length, segments)
        assert body["non_bmp_characters"] == ["😀"]
        assert "".join(body["parts"]) == "😀" * count
        if segments > 1:
            # A surrogate pair is never split: a part of 67 units holds 33 emoji.
            assert [len(part) for part in body["parts"][:-1]] == [33] * (segments - 1)

    async def test_longest_text_is_accepted(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _analyze(client, clinic, "a" * 2000)
        assert body["segments"] == 14


class TestCostAndCap:
    async def test_cost_is_segments_times_the_clinic_price(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        patched = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"price_per_segment": "0.50"}
        )
        assert patched.status_code == 200, patched.text
        body = await _analyze(client, clinic, "a" * 400)
        assert body["segments"] == 3
        assert body["cost"] == {"amount": "1.50", "currency": "NOK"}
        assert (await _analyze(client, other_clinic, "a" * 400))["cost"]["amount"] == "0.00"

    async def test_fractions_of_an_ore_are_kept(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"price_per_segment": "0.0450", "currency": "EUR"},
        )
        body = await _analyze(client, clinic, "ê" * 71)
        assert body["cost"] == {"amount": "0.09", "currency": "EUR"}
        body = await _analyze(client, clinic, "ê" * 135)
        assert body["cost"] == {"amount": "0.135", "currency": "EUR"}

    async def test_over_max_segments_is_200_and_says_so(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"max_segments": 2})
        body = await _analyze(client, clinic, "a" * 307)
        assert body["segments"] == 3
        assert body["max_segments"] == 2
        assert body["exceeds_max_segments"] is True
        assert (await _analyze(client, clinic, "a" * 306))["exceeds_max_segments"] is False


async def _set(client: httpx.AsyncClient, clinic: ClinicAccess, **changes: Any) -> None:
    response = await client.patch("/v1/settings", headers=clinic.headers, json=changes)
    assert response.status_code == 200, response.text


THURSDAY = "Vi ses på torsdag – husk å ta med frikortet"


class TestSmartEncoding:
    async def test_one_en_dash_no_longer_makes_the_text_ucs2(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, price_per_segment="0.50")
        text = THURSDAY + ". Svar JA for å bekrefte, eller ring oss på 22 33 44 55 om du ikke kan."

        body = await _analyze(client, clinic, text)

        sent = text.replace("–", "-")
        assert (body["text"], body["encoding"], body["segments"]) == (sent, "GSM-7", 1)
        assert body["parts"] == [sent]
        assert body["ucs2_characters"] == []
        assert body["cost"] == {"amount": "0.50", "currency": "NOK"}
        assert body["smart_encoding"] == {
            "enabled": True,
            "replaced": ["–"],
            "before": {
                "text": text,
                "encoding": "UCS-2",
                "length": 114,
                "segments": 2,
                "cost": {"amount": "1.00", "currency": "NOK"},
            },
            "after": {
                "text": sent,
                "encoding": "GSM-7",
                "length": 114,
                "segments": 1,
                "cost": {"amount": "0.50", "currency": "NOK"},
            },
        }

    async def test_switched_off_the_text_goes_as_written(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, smart_encoding=False)

        body = await _analyze(client, clinic, THURSDAY)

        assert (body["text"], body["encoding"], body["ucs2_characters"]) == (
            THURSDAY,
            "UCS-2",
            ["–"],
        )
        assert body["smart_encoding"]["enabled"] is False
        assert body["smart_encoding"]["replaced"] == []
        assert body["smart_encoding"]["before"] == body["smart_encoding"]["after"]

    async def test_the_setting_is_on_by_default_and_can_be_set_back(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        settings = await client.get("/v1/settings", headers=clinic.headers)
        assert settings.json()["smart_encoding"] is True
        await _set(client, clinic, smart_encoding=False)
        await _set(client, clinic, smart_encoding=True)
        assert (await _analyze(client, clinic, THURSDAY))["encoding"] == "GSM-7"

    async def test_null_is_refused_and_the_setting_kept(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"smart_encoding": None}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "smart_encoding"
        settings = await client.get("/v1/settings", headers=clinic.headers)
        assert settings.json()["smart_encoding"] is True


class TestProviderCapability:
    async def test_link_cannot_carry_emoji_and_the_analysis_says_which(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, provider="linkmobility")

        body = await _analyze(client, clinic, "Velkommen 😊🦷 ser deg snart 😊")

        [warning] = body["warnings"]
        assert warning["code"] == "unsupported_characters"
        assert warning["provider"] == "linkmobility"
        assert warning["characters"] == ["😊", "🦷"]
        assert "😊 (U+1F60A), 🦷 (U+1F9B7)" in warning["detail"]
        assert body["segments"] == 1, "the figures are still given"

    async def test_link_carries_every_other_character(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _set(client, clinic, provider="linkmobility")

        assert (await _analyze(client, clinic, "Hei Zoë – ses 中 \uffff"))["warnings"] == []

    @pytest.mark.parametrize("provider", ["sandbox", "sinch", "twilio"])
    async def test_other_providers_carry_emoji(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, provider: str
    ) -> None:
        await _set(client, clinic, provider=provider)

        assert (await _analyze(client, clinic, "Velkommen 😊"))["warnings"] == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field", "code"),
        [
            pytest.param({"text": ""}, "text", "string_too_short", id="empty"),
            pytest.param({"text": "a" * 2001}, "text", "string_too_long", id="too-long"),
            pytest.param({}, "text", "missing", id="missing"),
            pytest.param({"text": None}, "text", "string_type", id="null"),
            pytest.param({"text": 42}, "text", "string_type", id="number"),
            pytest.param(
                {"text": "Hei", "colour": "blue"}, "colour", "extra_forbidden", id="extra"
            ),
        ],
    )
    async def test_bad_body_is_422_naming_the_field(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        body: dict[str, Any],
        field: str,
        code: str,
    ) -> None:
        response = await client.post(ANALYZE, headers=clinic.headers, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/validation-error"
        assert {"field": field, "code": code} in [
            {"field": error["field"], "code": error["code"]} for error in problem["errors"]
        ]

    async def test_needs_an_api_key(self, client: httpx.AsyncClient) -> None:
        response = await client.post(ANALYZE, json={"text": "Hei"})
        assert response.status_code == 401
