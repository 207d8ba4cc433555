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
        assert body == {
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
