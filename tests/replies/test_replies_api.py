"""GET/PATCH /v1/replies, and the reply keywords in the clinic settings."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.replies.keywords import Keyword, first_word, keyword_of
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.replies.test_inbound import reply


async def listed(client: httpx.AsyncClient, clinic: ClinicAccess, **params: Any) -> Any:
    response = await client.get("/v1/replies", headers=clinic.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def inbox(client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock) -> list[str]:
    """Five replies a minute apart, oldest first: two from patient 1001."""
    await put_patient(client, clinic, "1001")
    ids = []
    for text, sender in [
        ("Hei", "+4791234567"),
        ("STOPP", "+4798765432"),
        ("Takk", "+4791234567"),
        ("Hvem?", "+4790000001"),
        ("START", "+4798765432"),
    ]:
        ids.append((await reply(client, clinic, text, sender=sender))["reply_id"])
        clock.advance(minutes=1)
    return ids


class TestList:
    async def test_newest_first_with_cursor_pages(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, inbox: list[str]
    ) -> None:
        first = await listed(client, clinic, limit=2)
        assert [r["id"] for r in first["data"]] == inbox[::-1][:2]
        second = await listed(client, clinic, limit=2, cursor=first["next_cursor"])
        third = await listed(client, clinic, limit=2, cursor=second["next_cursor"])
        assert [r["id"] for r in second["data"] + third["data"]] == inbox[::-1][2:]
        assert third["next_cursor"] is None

    async def test_filters(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        inbox: list[str],
        clock: FixedClock,
    ) -> None:
        await client.patch(f"/v1/replies/{inbox[0]}", headers=clinic.headers, json={"read": True})
        await client.patch(
            f"/v1/replies/{inbox[3]}", headers=clinic.headers, json={"follow_up": True}
        )

        def ids(body: Any) -> list[str]:
            return sorted(r["id"] for r in body["data"])

        assert ids(await listed(client, clinic, read=True)) == [inbox[0]]
        assert len((await listed(client, clinic, read=False))["data"]) == 4
        assert ids(await listed(client, clinic, follow_up=True)) == [inbox[3]]
        assert ids(await listed(client, clinic, patient_no="1001")) == sorted([inbox[0], inbox[2]])
        assert ids(await listed(client, clinic, number="987 65 432")) == sorted(
            [inbox[1], inbox[4]]
        )
        assert ids(await listed(client, clinic, keyword="stop")) == [inbox[1]]
        start = clock.now() - timedelta(minutes=4)
        window = await listed(
            client,
            clinic,
            received_from=start.isoformat(),
            received_to=(start + timedelta(minutes=2)).isoformat(),
        )
        assert ids(window) == sorted([inbox[1], inbox[2]])

    async def test_bad_input_is_422(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        for params in ({"cursor": "nonsense"}, {"number": "12"}, {"keyword": "maybe"}):
            response = await client.get("/v1/replies", headers=clinic.headers, params=params)
            assert response.status_code == 422, params


class TestOneReply:
    async def test_get_and_patch(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, inbox: list[str]
    ) -> None:
        path = f"/v1/replies/{inbox[0]}"
        got = await client.get(path, headers=clinic.headers)
        assert got.json()["text"] == "Hei"
        patched = await client.patch(path, headers=clinic.headers, json={"read": True})
        assert (patched.json()["read"], patched.json()["follow_up"]) == (True, False)
        patched = await client.patch(path, headers=clinic.headers, json={"follow_up": True})
        assert (patched.json()["read"], patched.json()["follow_up"]) == (True, True)
        unknown = await client.patch(path, headers=clinic.headers, json={"text": "x"})
        assert unknown.status_code == 422

    async def test_another_clinics_reply_is_404(
        self,
        client: httpx.AsyncClient,
        other_clinic: ClinicAccess,
        inbox: list[str],
    ) -> None:
        path = f"/v1/replies/{inbox[0]}"
        assert (await client.get(path, headers=other_clinic.headers)).status_code == 404
        patched = await client.patch(path, headers=other_clinic.headers, json={"read": True})
        assert patched.status_code == 404
        assert (await listed(client, other_clinic))["data"] == []


class TestKeywordSettings:
    async def test_defaults(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        body = (await client.get("/v1/settings", headers=clinic.headers)).json()
        assert (body["confirm_keyword"], body["cancel_keyword"]) == ("JA", "NEI")

    async def test_put_sets_them_in_capitals(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put(
            "/v1/settings",
            headers=clinic.headers,
            json={"confirm_keyword": "bekreft", "cancel_keyword": "Avbestill"},
        )
        assert response.status_code == 200, response.text
        assert (response.json()["confirm_keyword"], response.json()["cancel_keyword"]) == (
            "BEKREFT",
            "AVBESTILL",
        )

    @pytest.mark.parametrize(
        ("patch", "field"),
        [
            ({"confirm_keyword": "JA TAKK"}, "confirm_keyword"),
            ({"confirm_keyword": "JA1"}, "confirm_keyword"),
            ({"confirm_keyword": ""}, "confirm_keyword"),
            ({"cancel_keyword": "stopp"}, "cancel_keyword"),
            ({"cancel_keyword": "Start"}, "cancel_keyword"),
            ({"cancel_keyword": "x" * 21}, "cancel_keyword"),
            ({"confirm_keyword": None}, "confirm_keyword"),
            ({"cancel_keyword": "ja"}, "body"),
        ],
    )
    async def test_invalid_keywords_are_422(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        patch: dict[str, Any],
        field: str,
    ) -> None:
        response = await client.patch("/v1/settings", headers=clinic.headers, json=patch)
        assert response.status_code == 422, response.text
        assert field in {error["field"] for error in response.json()["errors"]}

    def test_norwegian_letters_are_letters(self) -> None:
        assert (
            keyword_of(
                "Bekreftå!", confirm_word="BEKREFTÅ", cancel_word="NEI", answers_appointment=True
            )
            is Keyword.CONFIRM
        )
        assert first_word("  «ja»  takk") == "JA"
        assert first_word("") == ""


async def test_a_malformed_cursor_is_422_not_500(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    for cursor in ("WzUsIDZd", "not-a-cursor"):  # [5, 6], and no base64 JSON at all
        response = await client.get(
            "/v1/replies", headers=clinic.headers, params={"cursor": cursor}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "cursor"
