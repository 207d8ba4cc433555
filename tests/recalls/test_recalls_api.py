"""`recall_due` on PUT /v1/patients, the recall on GET /v1/patients/{no}, GET /v1/recalls
with its filters and cursor, and the clinic's `recall_daily_cap`."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.patients.models import Patient
from app.recalls.models import Recall
from tests.appointments.conftest import patch_settings
from tests.conftest import ClinicAccess
from tests.recalls.conftest import DUE_TODAY, FIRST_SEND, due_patient, plan, recall_of, z

Json = dict[str, Any]


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _list(client: httpx.AsyncClient, clinic: ClinicAccess, **params: Any) -> Json:
    response = await client.get("/v1/recalls", headers=clinic.headers, params=params)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


class TestRecallDue:
    @pytest.mark.usefixtures("recall_rule")
    async def test_the_patient_shows_the_scheduled_recall(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await due_patient(client, clinic)
        assert await recall_of(client, clinic, "1001") == {
            "state": "scheduled",
            "skip_reason": None,
            "due_date": DUE_TODAY,
            "attempts": 0,
            "next_send_at": z(FIRST_SEND),
            "message_id": None,
            "sent_at": None,
            "delivered_at": None,
        }

    async def test_a_patient_without_a_due_date_has_none(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await due_patient(client, clinic, due=None)
        recall = await recall_of(client, clinic, "1001")
        assert (recall["state"], recall["due_date"], recall["attempts"]) == ("none", None, 0)

    @pytest.mark.parametrize("due", ["2000-01-01", "2199-12-31"])
    async def test_the_first_and_last_dates_are_taken(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, due: str
    ) -> None:
        await due_patient(client, clinic, due=due)
        assert (await recall_of(client, clinic, "1001"))["due_date"] == due

    @pytest.mark.parametrize("due", ["1999-12-31", "2200-01-01", "2026-02-30", "soon", 20261230])
    async def test_a_bad_date_is_a_422_naming_it_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        due: object,
    ) -> None:
        body = {"first_name": "Kari", "last_name": "Nordmann", "recall_due": due}
        response = await client.put("/v1/patients/1001", headers=clinic.headers, json=body)
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["recall_due"]
        assert await _count(sessionmaker, Patient) == 0
        assert await _count(sessionmaker, Recall) == 0

    async def test_another_clinic_sees_no_recalls(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await due_patient(client, clinic)
        assert (await _list(client, other_clinic))["data"] == []


class TestListing:
    DUES = {"1001": "2027-03-01", "1002": "2027-01-10", "1003": "2027-02-01", "1004": "2027-01-10"}

    @pytest.fixture
    async def recalls(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        for patient_no, due in self.DUES.items():
            await due_patient(client, clinic, patient_no, due=due)

    @pytest.mark.usefixtures("recalls")
    async def test_earliest_due_first_page_by_page(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        seen: list[tuple[str, str]] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: Json = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = await _list(client, clinic, **params)
            seen += [(item["due_date"], item["patient_no"]) for item in page["data"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 2
        assert [due for due, _ in seen] == ["2027-01-10", "2027-01-10", "2027-02-01", "2027-03-01"]
        assert sorted(no for _, no in seen) == ["1001", "1002", "1003", "1004"]

    @pytest.mark.usefixtures("recalls")
    async def test_due_before_is_exclusive(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        page = await _list(client, clinic, due_before="2027-02-01")
        assert sorted(item["patient_no"] for item in page["data"]) == ["1002", "1004"]
        page = await _list(client, clinic, due_before="2027-02-02")
        assert len(page["data"]) == 3

    @pytest.mark.usefixtures("recall_rule")
    async def test_by_state(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: Any,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await due_patient(client, clinic, "1001")
        await due_patient(client, clinic, "1002", mobile=None)
        await due_patient(client, clinic, "1003", due="2027-06-01")
        await plan(sessionmaker, clinic, clock)
        skipped = await _list(client, clinic, state="skipped")
        assert [(i["patient_no"], i["skip_reason"]) for i in skipped["data"]] == [
            ("1002", "no_mobile")
        ]
        scheduled = await _list(client, clinic, state="scheduled")
        assert [i["patient_no"] for i in scheduled["data"]] == ["1001", "1003"]
        assert scheduled["data"][0]["message_id"] is not None
        assert (await _list(client, clinic, state="sent"))["data"] == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"state": "none"}, "state"),
            ({"state": "ready"}, "state"),
            ({"due_before": "next week"}, "due_before"),
            ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
            ({"cursor": "WyJub3QgYSBkYXRlIiwgInguLi4iXQ=="}, "cursor"),
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
        ],
    )
    async def test_bad_parameters_are_a_422_naming_them(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, params: Json, field: str
    ) -> None:
        response = await client.get("/v1/recalls", headers=clinic.headers, params=params)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in response.json()["errors"]]


class TestDailyCapSetting:
    async def test_set_and_cleared(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        async def cap() -> object:
            return (await client.get("/v1/settings", headers=clinic.headers)).json()[
                "recall_daily_cap"
            ]

        assert await cap() is None
        await patch_settings(client, clinic, recall_daily_cap=1)
        assert await cap() == 1
        await patch_settings(client, clinic, recall_daily_cap=None)
        assert await cap() is None

    @pytest.mark.parametrize("value", [0, -5, 100_001, "many"])
    async def test_a_bad_cap_is_a_422_and_nothing_changes(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, value: object
    ) -> None:
        response = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"recall_daily_cap": value}
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["recall_daily_cap"]
        settings = await client.get("/v1/settings", headers=clinic.headers)
        assert settings.json()["recall_daily_cap"] is None


async def test_erasing_the_patient_erases_their_recall(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await due_patient(client, clinic)
    assert await _count(sessionmaker, Recall) == 1
    assert (await client.delete("/v1/patients/1001", headers=clinic.headers)).status_code == 204
    assert await _count(sessionmaker, Recall) == 0
