"""A marketing or offer template must tell how to opt out, and be answerable with STOPP."""

import httpx
import pytest

from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType
from tests.conftest import ClinicAccess

MARKETING_TYPES = ["marketing", "offer"]


@pytest.mark.parametrize("template_type", MARKETING_TYPES)
async def test_a_text_without_stopp_is_refused_and_nothing_saved(
    client: httpx.AsyncClient, clinic: ClinicAccess, template_type: str
) -> None:
    path = f"/v1/templates/{template_type}"
    body = {"text": "Hei [Fornavn]! 20 % på tannbleking i desember: [URL]", "allow_reply": True}

    response = await client.put(path, headers=clinic.headers, json=body)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("text", "no_opt_out")
    assert "STOPP" in error["reason"]
    saved = (await client.get(path, headers=clinic.headers)).json()
    assert saved["text"] == DEFAULT_TEMPLATES[TemplateType(template_type)].text


async def test_an_unanswerable_marketing_template_is_refused_naming_both_gaps(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.put(
        "/v1/templates/marketing",
        headers=clinic.headers,
        json={"text": "Nyheter: [URL]", "allow_reply": False},
    )

    assert response.status_code == 422, response.text
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors == {("text", "no_opt_out"), ("allow_reply", "must_allow_reply")}


@pytest.mark.parametrize(
    "text",
    [
        "Nyheter: [URL] Svar STOPP for å reservere deg.",
        "Nyheter: [URL]\nSend stop til oss om du ikke vil ha flere.",
        "Nyheter: [URL] (STOPP: svar stopp)",
    ],
)
async def test_any_text_with_the_opt_out_keyword_is_saved(
    client: httpx.AsyncClient, clinic: ClinicAccess, text: str
) -> None:
    response = await client.put(
        "/v1/templates/offer", headers=clinic.headers, json={"text": text, "allow_reply": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == text


async def test_service_templates_need_no_opt_out(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.put(
        "/v1/templates/general",
        headers=clinic.headers,
        json={"text": "Hei [Fornavn]!", "allow_reply": False},
    )
    assert response.status_code == 200, response.text


async def test_a_word_that_merely_contains_stop_is_no_opt_out(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.put(
        "/v1/templates/offer",
        headers=clinic.headers,
        json={"text": "Nyheter fra Stoppested tannklinikk: [URL]", "allow_reply": True},
    )
    assert response.status_code == 422, response.text
