import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.core.clock import FixedClock
from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType
from app.templates.merge import KNOWN_FIELDS
from app.templates.models import MessageTemplate
from tests.conftest import START_TIME, ClinicAccess

ALL_TYPES = [template_type.value for template_type in TemplateType]
REMINDER_1 = "/v1/templates/reminder_1"
SAMPLE_REMINDER_1 = (
    "Hei Kari! Vi minner om at du har time hos Tannlege Hansen onsdag 12. mars kl. 09:30. "
    "Svar JA for å bekrefte eller NEI om du ikke kan komme."
)
# With sample values 3 segments; with the long values 984 septets, 7 segments.
MANY_FIELDS = "[Fornavn] [Etternavn] [Behandler] " * 12


async def _get(client: httpx.AsyncClient, clinic: ClinicAccess, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=clinic.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _problem(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 422
    assert problem["type"] == "/problems/validation-error"
    assert field in [error["field"] for error in problem["errors"]], problem
    return problem


class TestList:
    async def test_new_clinic_has_the_twelve_defaults(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _get(client, clinic, "/v1/templates")
        assert [item["type"] for item in body["data"]] == ALL_TYPES
        for item in body["data"]:
            default = DEFAULT_TEMPLATES[TemplateType(item["type"])]
            assert item["text"] == default.text
            assert item["allow_reply"] is default.allow_reply
            assert item["is_default"] is True
            assert item["warnings"] == []
            analysis = item["analysis"]
            assert analysis["encoding"] == "GSM-7"
            assert analysis["segments"] == 1
            assert analysis["exceeds_max_segments"] is False
            assert analysis["max_segments"] == 6
            assert analysis["cost"] == {"amount": "0.00", "currency": "NOK"}
            assert "[" not in "".join(analysis["parts"])

    async def test_each_template_is_analysed_with_sample_values(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _get(client, clinic, REMINDER_1)
        assert body["type"] == "reminder_1"
        assert body["merge_fields"] == [
            "Tidspunkt",
            "Behandler",
            "Mottaker",
            "du",
            "Bekreft",
            "Avbestill",
        ]
        assert body["analysis"]["parts"] == [SAMPLE_REMINDER_1]
        assert body["analysis"]["length"] == len(SAMPLE_REMINDER_1)

    async def test_clinic_created_via_admin_api_has_all_twelve_rows(
        self,
        client: httpx.AsyncClient,
        admin_headers: dict[str, str],
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        created = await client.post("/v1/clinics", json={"name": "Ny"}, headers=admin_headers)
        assert created.status_code == 201
        async with sessionmaker() as session:
            statement = select(MessageTemplate).where(
                col(MessageTemplate.clinic_id) == uuid.UUID(created.json()["id"])
            )
            rows = (await session.execute(statement)).scalars().all()
        assert sorted(row.type for row in rows) == sorted(ALL_TYPES)
        for row in rows:
            default = DEFAULT_TEMPLATES[TemplateType(row.type)]
            assert (row.text, row.allow_reply) == (default.text, default.allow_reply)

    async def test_a_type_with_no_stored_row_shows_the_default_and_can_be_saved(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        async with sessionmaker() as session:
            await session.execute(
                delete(MessageTemplate).where(col(MessageTemplate.clinic_id) == clinic.id)
            )
            await session.commit()
        body = await _get(client, clinic, "/v1/templates")
        assert [item["type"] for item in body["data"]] == ALL_TYPES
        assert all(item["is_default"] for item in body["data"])
        assert (await _get(client, clinic, REMINDER_1))["is_default"] is True

        saved = await client.put(
            REMINDER_1, headers=clinic.headers, json={"text": "Hei [Fornavn]", "allow_reply": True}
        )
        assert saved.status_code == 200, saved.text
        assert (await _get(client, clinic, REMINDER_1))["text"] == "Hei [Fornavn]"
        reset = await client.post("/v1/templates/recall/reset", headers=clinic.headers)
        assert reset.status_code == 200
        assert reset.json()["is_default"] is True

    async def test_needs_an_api_key(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/templates")).status_code == 401
        assert (await client.get(REMINDER_1)).status_code == 401


class TestUpdateAndReset:
    async def test_put_saves_text_and_allow_reply(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        clock.advance(hours=1)
        text = "Hei [Fornavn] [Etternavn]! Time [Tidspunkt] hos [Behandler]. Svar JA eller NEI."
        response = await client.put(
            REMINDER_1, headers=clinic.headers, json={"text": text, "allow_reply": False}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["text"] == text
        assert body["allow_reply"] is False
        assert body["is_default"] is False
        assert body["merge_fields"] == ["Fornavn", "Etternavn", "Tidspunkt", "Behandler"]
        assert body["updated_at"] == (START_TIME + timedelta(hours=1)).isoformat().replace(
            "+00:00", "Z"
        )
        assert body["analysis"]["parts"] == [
            "Hei Kari Nordmann! Time onsdag 12. mars kl. 09:30 hos Tannlege Hansen. "
            "Svar JA eller NEI."
        ]
        assert await _get(client, clinic, REMINDER_1) == body
        listed = await _get(client, clinic, "/v1/templates")
        assert listed["data"][1] == body

    async def test_saving_the_default_text_is_default(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        default = DEFAULT_TEMPLATES[TemplateType.GENERAL]
        response = await client.put(
            "/v1/templates/general",
            headers=clinic.headers,
            json={"text": default.text, "allow_reply": True},
        )
        assert response.json()["is_default"] is True
        assert response.json()["allow_reply"] is True

    async def test_reset_restores_default_text_and_allow_reply(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        await client.put(
            REMINDER_1, headers=clinic.headers, json={"text": "Hei!", "allow_reply": False}
        )
        clock.advance(minutes=5)
        response = await client.post(f"{REMINDER_1}/reset", headers=clinic.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        default = DEFAULT_TEMPLATES[TemplateType.REMINDER_1]
        assert (body["text"], body["allow_reply"]) == (default.text, default.allow_reply)
        assert body["is_default"] is True
        assert body["updated_at"].startswith("2026-11-30T10:05:00")
        assert await _get(client, clinic, REMINDER_1) == body

    async def test_text_that_may_exceed_max_segments_is_saved_with_a_warning(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put(
            "/v1/templates/notice",
            headers=clinic.headers,
            json={"text": MANY_FIELDS, "allow_reply": False},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["analysis"]["segments"] == 3
        assert body["analysis"]["exceeds_max_segments"] is False
        [warning] = body["warnings"]
        assert warning["code"] == "may_exceed_max_segments"
        assert warning["segments"] == 7
        assert warning["max_segments"] == 6
        assert "max_segments" in warning["detail"]
        assert (await _get(client, clinic, "/v1/templates/notice"))["text"] == MANY_FIELDS

    async def test_warning_follows_the_clinic_max_segments(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"max_segments": 1})
        body = await _get(client, clinic, "/v1/templates/reminder_2")
        # Fits one segment with the sample values, not with long names.
        assert body["analysis"]["segments"] == 1
        assert body["warnings"][0]["segments"] == 2
        assert body["warnings"][0]["max_segments"] == 1
        assert (await _get(client, clinic, "/v1/templates/general"))["warnings"] == []


BAD_WRITES = [
    pytest.param({"text": "", "allow_reply": True}, "text", None, id="empty-text"),
    pytest.param({"text": "   \n", "allow_reply": True}, "text", None, id="blank-text"),
    pytest.param({"text": "x" * 2001, "allow_reply": True}, "text", None, id="too-long"),
    pytest.param({"text": 12, "allow_reply": True}, "text", None, id="text-not-a-string"),
    pytest.param({"allow_reply": True}, "text", None, id="text-missing"),
    pytest.param({"text": "Hei"}, "allow_reply", None, id="allow-reply-missing"),
    pytest.param({"text": "Hei", "allow_reply": "maybe"}, "allow_reply", None, id="bad-bool"),
    pytest.param({"text": "Hei", "allow_reply": True, "colour": "x"}, "colour", None, id="extra"),
    pytest.param(
        {"text": "Hei [Navn], velkommen", "allow_reply": True}, "text", 4, id="unknown-field"
    ),
    pytest.param({"text": "Hei [fornavn]", "allow_reply": True}, "text", 4, id="wrong-case"),
    pytest.param({"text": "Hei [Fornavn", "allow_reply": True}, "text", 4, id="unclosed"),
    pytest.param({"text": "Hei Fornavn] !", "allow_reply": True}, "text", 11, id="stray-close"),
    pytest.param({"text": "Hei [Forn[avn]", "allow_reply": True}, "text", 9, id="nested"),
    pytest.param({"text": "Hei []", "allow_reply": True}, "text", 4, id="empty-brackets"),
]


class TestBadInput:
    @pytest.mark.parametrize(("body", "field", "position"), BAD_WRITES)
    async def test_bad_put_is_422_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        body: dict[str, Any],
        field: str,
        position: int | None,
    ) -> None:
        before = await _get(client, clinic, REMINDER_1)
        response = await client.put(REMINDER_1, headers=clinic.headers, json=body)
        problem = _problem(response, field)
        if position is not None:
            assert problem["errors"][0]["field"] == "text"
            assert problem["position"] == position
            assert problem["known_fields"] == list(KNOWN_FIELDS)
        assert await _get(client, clinic, REMINDER_1) == before

    async def test_unknown_merge_field_is_named_with_the_known_ones(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put(
            REMINDER_1,
            headers=clinic.headers,
            json={"text": "Hei [Fornavn], time [Tidspunk]", "allow_reply": True},
        )
        problem = _problem(response, "text")
        assert problem["errors"][0]["code"] == "unknown_field"
        assert problem["merge_field"] == "Tidspunk"
        assert problem["suggestion"] == "Tidspunkt"
        assert problem["position"] == 20
        assert "[Tidspunk]" in problem["detail"]
        for name in KNOWN_FIELDS:
            assert f"[{name}]" in problem["errors"][0]["reason"]

    async def test_malformed_bracket_names_the_position(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put(
            REMINDER_1, headers=clinic.headers, json={"text": "[Fornavn", "allow_reply": True}
        )
        problem = _problem(response, "text")
        assert problem["errors"][0]["code"] == "malformed_bracket"
        assert problem["position"] == 0
        assert problem["merge_field"] is None

    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("GET", ""), ("PUT", ""), ("POST", "/reset"), ("POST", "/preview")],
    )
    async def test_unknown_type_is_422_listing_the_types(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, method: str, suffix: str
    ) -> None:
        response = await client.request(
            method,
            f"/v1/templates/reminder_4{suffix}",
            headers=clinic.headers,
            json={"text": "Hei", "allow_reply": False} if method == "PUT" else None,
        )
        problem = _problem(response, "type")
        [error] = problem["errors"]
        assert error["code"] == "enum"
        for template_type in ALL_TYPES:
            assert f"'{template_type}'" in error["reason"]


class TestPreview:
    async def test_saved_text_with_sample_values(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        for kwargs in ({}, {"json": {}}):
            response = await client.post(f"{REMINDER_1}/preview", headers=clinic.headers, **kwargs)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["type"] == "reminder_1"
            assert body["template_text"] == DEFAULT_TEMPLATES[TemplateType.REMINDER_1].text
            assert body["text"] == SAMPLE_REMINDER_1
            assert body["values"] == {
                "Tidspunkt": "onsdag 12. mars kl. 09:30",
                "Behandler": "Tannlege Hansen",
                "Mottaker": "Kari",
                "du": "du",
                "Bekreft": "JA",
                "Avbestill": "NEI",
            }
            assert body["analysis"]["encoding"] == "GSM-7"
            assert body["analysis"]["length"] == len(SAMPLE_REMINDER_1)
            assert body["analysis"]["segments"] == 1
            assert body["warnings"] == []

    async def test_given_values_override_the_samples(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.post(
            f"{REMINDER_1}/preview",
            headers=clinic.headers,
            json={"values": {"Fornavn": "Zoë", "Behandler": "Łukasz", "URL": "unused"}},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["text"].startswith("Hei Zoë! Vi minner om at du har time hos Łukasz onsdag")
        assert body["values"]["Mottaker"] == "Zoë"
        assert "URL" not in body["values"]
        analysis = body["analysis"]
        assert analysis["encoding"] == "UCS-2"
        assert analysis["ucs2_characters"] == ["ë", "Ł"]
        assert analysis["first_ucs2_position"] == 6
        assert analysis["length"] == len(body["text"])
        assert analysis["segments"] == 2

    async def test_previews_the_saved_text(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.put(
            "/v1/templates/recall",
            headers=clinic.headers,
            json={"text": "Ring [Businessphone], [Fornavn]", "allow_reply": False},
        )
        response = await client.post("/v1/templates/recall/preview", headers=clinic.headers)
        assert response.json()["text"] == "Ring 22 33 44 55, Kari"

    async def test_unsaved_text_is_previewed_and_not_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        before = await _get(client, clinic, REMINDER_1)
        response = await client.post(
            f"{REMINDER_1}/preview",
            headers=clinic.headers,
            json={"text": "Hei [Fornavn] 😀 [URL2]", "values": {"URL2": "https://x.no/a"}},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["template_text"] == "Hei [Fornavn] 😀 [URL2]"
        assert body["text"] == "Hei Kari 😀 https://x.no/a"
        assert body["analysis"]["encoding"] == "UCS-2"
        assert body["analysis"]["non_bmp_characters"] == ["😀"]
        assert body["analysis"]["length"] == len(body["text"]) + 1
        assert await _get(client, clinic, REMINDER_1) == before

    async def test_over_the_cap_is_200_and_says_so(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"max_segments": 2, "price_per_segment": "0.45"},
        )
        response = await client.post(
            "/v1/templates/general/preview",
            headers=clinic.headers,
            json={"text": "Hei [Fornavn]! " + "a" * 400},
        )
        assert response.status_code == 200, response.text
        analysis = response.json()["analysis"]
        assert analysis["segments"] == 3
        assert analysis["max_segments"] == 2
        assert analysis["exceeds_max_segments"] is True
        assert analysis["cost"] == {"amount": "1.35", "currency": "NOK"}
        assert response.json()["warnings"][0]["segments"] == 3

    @pytest.mark.parametrize(
        ("body", "field", "position"),
        [
            pytest.param({"values": {"Navn": "Kari"}}, "values.Navn", None, id="unknown-key"),
            pytest.param({"values": {"fornavn": "Kari"}}, "values.fornavn", None, id="key-case"),
            pytest.param({"values": {"Fornavn": ""}}, "values.Fornavn", None, id="empty-value"),
            pytest.param({"values": {"Mottaker": "  "}}, "values.Mottaker", 4, id="blank-value"),
            pytest.param({"values": {"Fornavn": 1}}, "values.Fornavn", None, id="not-a-string"),
            pytest.param({"values": ["Kari"]}, "values", None, id="values-not-an-object"),
            pytest.param({"text": ""}, "text", None, id="empty-text"),
            pytest.param({"text": "Hei [Fornavn"}, "text", 4, id="unclosed"),
            pytest.param({"text": "Hei [Navn]"}, "text", 4, id="unknown-field"),
            pytest.param({"colour": "blue"}, "colour", None, id="extra"),
        ],
    )
    async def test_bad_preview_is_422(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        body: dict[str, Any],
        field: str,
        position: int | None,
    ) -> None:
        before = await _get(client, clinic, REMINDER_1)
        response = await client.post(f"{REMINDER_1}/preview", headers=clinic.headers, json=body)
        problem = _problem(response, field)
        if position is not None:
            assert problem["position"] == position
        assert await _get(client, clinic, REMINDER_1) == before


class TestIsolation:
    async def test_each_clinic_sees_and_changes_only_its_own_templates(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await client.put(
            REMINDER_1, headers=clinic.headers, json={"text": "A: [Fornavn]", "allow_reply": False}
        )
        assert (await _get(client, clinic, REMINDER_1))["text"] == "A: [Fornavn]"
        theirs = await _get(client, other_clinic, REMINDER_1)
        assert theirs["is_default"] is True
        listed = await _get(client, other_clinic, "/v1/templates")
        assert all(item["is_default"] for item in listed["data"])
        preview = await client.post(f"{REMINDER_1}/preview", headers=other_clinic.headers)
        assert preview.json()["text"] == SAMPLE_REMINDER_1

        await client.post(f"{REMINDER_1}/reset", headers=other_clinic.headers)
        assert (await _get(client, clinic, REMINDER_1))["text"] == "A: [Fornavn]"
