"""A guardian's copy reads right to the guardian: [Mottaker] is whoever gets the SMS, and
[du] names the patient in the third person to a guardian."""

from typing import Any

import httpx
import pytest

from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

Json = dict[str, Any]
TEXT = "Hei [Mottaker]! Husk at [du] har time, [Etternavn]."


@pytest.fixture
async def child(client: httpx.AsyncClient, clinic: ClinicAccess) -> Json:
    return await put_patient(
        client,
        clinic,
        "3003",
        first_name="Ola",
        guardians=[{"name": "Anne Nordmann", "mobile": "+4791111111", "wants_sms": True}],
    )


def _texts(messages: list[Json]) -> dict[str, str]:
    return {message["recipient_role"]: message["text"] for message in messages}


@pytest.mark.usefixtures("child")
async def test_one_message(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.post(
        "/v1/messages",
        headers=clinic.headers,
        json={"patient_no": "3003", "text": TEXT, "include_guardians": True},
    )
    assert response.status_code == 201, response.text
    assert _texts(response.json()["data"]) == {
        "patient": "Hei Ola! Husk at du har time, Nordmann.",
        "guardian": "Hei Anne Nordmann! Husk at Ola har time, Nordmann.",
    }


@pytest.mark.usefixtures("child")
async def test_bulk(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    response = await client.post(
        "/v1/messages/bulk",
        headers=clinic.headers,
        json={"patient_nos": ["3003"], "template_type": "general", "include_guardians": True},
    )
    assert response.status_code == 200, response.text
    [outcome] = response.json()["outcomes"]
    listed = await client.get("/v1/messages", headers=clinic.headers)
    messages = [m for m in listed.json()["data"] if m["id"] in outcome["message_ids"]]
    assert _texts(messages) == {"patient": "Hei Ola!", "guardian": "Hei Anne Nordmann!"}


async def test_a_bare_number_is_greeted_by_the_name_given(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.post(
        "/v1/messages",
        headers=clinic.headers,
        json={"to": "+4791234567", "template_type": "general", "merge_values": {"Fornavn": "Per"}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"][0]["text"] == "Hei Per!"
    nameless = await client.post(
        "/v1/messages",
        headers=clinic.headers,
        json={"to": "+4791234567", "template_type": "general"},
    )
    assert nameless.status_code == 422
    assert nameless.json()["merge_field"] == "Mottaker"
