"""[Bekreft], [Avbestill] and [Stopp] are the clinic's reply keywords: the default texts follow
a changed keyword, and a template that spells one out is warned about."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

KEYWORDS = {"confirm_keyword": "kommer", "cancel_keyword": "Avlys"}


async def _patch(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.patch("/v1/settings", headers=clinic.headers, json=KEYWORDS)
    assert response.status_code == 200, response.text


async def test_the_default_texts_follow_the_keywords(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await _patch(client, clinic)
    preview = await client.post("/v1/templates/reminder_2/preview", headers=clinic.headers)
    assert preview.json()["text"].endswith(
        "Svar KOMMER for å bekrefte eller AVLYS om du ikke kan komme."
    )
    await put_patient(client, clinic, "1001", wants_sms=True)
    start = datetime(2026, 12, 3, 12, 0, tzinfo=ZoneInfo("Europe/Oslo"))
    pushed = await client.put(
        "/v1/appointments/A1",
        headers=clinic.headers,
        json={
            "patient_no": "1001",
            "practitioner": "Tannlege Hansen",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
        },
    )
    assert pushed.status_code == 201, pushed.text
    listed = await client.get("/v1/messages", headers=clinic.headers)
    [reminder] = listed.json()["data"]
    assert "Svar KOMMER for å bekrefte eller AVLYS" in reminder["text"]
    marketing = await client.get("/v1/templates/marketing", headers=clinic.headers)
    assert "Svar STOPP" in marketing.json()["analysis"]["parts"][0]


async def test_a_spelled_out_keyword_is_warned_about(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    own = {"text": "Hei [Mottaker]! Svar JA om du kommer [Tidspunkt].", "allow_reply": True}
    saved = await client.put("/v1/templates/reminder_1", headers=clinic.headers, json=own)
    assert saved.status_code == 200, saved.text
    [warning] = saved.json()["warnings"]
    assert (warning["code"], warning["keywords"]) == ("keyword_spelled_out", ["JA"])
    assert "[Bekreft]" in warning["detail"]
    await _patch(client, clinic)
    listed = await client.get("/v1/templates/reminder_1", headers=clinic.headers)
    [warning] = listed.json()["warnings"]
    assert warning["keywords"] == ["JA"]
    assert "This clinic reads KOMMER and AVLYS" in warning["detail"]


async def test_no_default_is_warned_about(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    await _patch(client, clinic)
    templates = (await client.get("/v1/templates", headers=clinic.headers)).json()["data"]
    assert [t["warnings"] for t in templates] == [[]] * 12
