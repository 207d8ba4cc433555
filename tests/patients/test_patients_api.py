import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.core.clock import FixedClock
from app.messages.models import Message
from app.patients.models import Patient
from app.recalls.schemas import NO_RECALL
from tests.conftest import START_TIME, ClinicAccess

KARI = {
    "first_name": "Kari",
    "last_name": "Nordmann",
    "mobile": "912 34 567",
    "wants_sms": True,
    "guardians": [{"name": "Ola Nordmann", "mobile": "+47 412 34 567", "wants_sms": True}],
}


def _url(patient_no: str) -> str:
    return f"/v1/patients/{patient_no}"


async def _put(
    client: httpx.AsyncClient, clinic: ClinicAccess, patient_no: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.put(_url(patient_no), headers=clinic.headers, json=body)


async def _get(client: httpx.AsyncClient, clinic: ClinicAccess, patient_no: str) -> dict[str, Any]:
    response = await client.get(_url(patient_no), headers=clinic.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _list(
    client: httpx.AsyncClient, clinic: ClinicAccess, **params: Any
) -> tuple[list[str], str | None]:
    response = await client.get("/v1/patients", headers=clinic.headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [patient["patient_no"] for patient in body["data"]], body["next_cursor"]


def _fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


class TestUpsert:
    async def test_marketing_consent_is_explicit_and_keeps_the_time_it_was_given(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        assert (await _put(client, clinic, "1001", KARI)).json()["marketing_consent"] is False
        given = await _put(client, clinic, "1001", KARI | {"marketing_consent": True})
        assert (given.json()["marketing_consent"], given.json()["marketing_consent_at"]) == (
            True,
            "2026-11-30T10:00:00Z",
        )
        clock.advance(hours=1)
        again = await _put(client, clinic, "1001", KARI | {"marketing_consent": True})
        assert again.json()["marketing_consent_at"] == "2026-11-30T10:00:00Z"
        withdrawn = await _put(client, clinic, "1001", KARI)
        assert (
            withdrawn.json()["marketing_consent"],
            withdrawn.json()["marketing_consent_at"],
        ) == (
            False,
            None,
        )

    async def test_put_creates_then_replaces(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
    ) -> None:
        created = await _put(client, clinic, "1001", KARI)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body == {
            "patient_no": "1001",
            "first_name": "Kari",
            "last_name": "Nordmann",
            "mobile": "+4791234567",
            "textable": True,
            "not_textable_reason": None,
            "wants_sms": True,
            "guardians": [
                {
                    "name": "Ola Nordmann",
                    "mobile": "+4741234567",
                    "textable": True,
                    "not_textable_reason": None,
                    "wants_sms": True,
                }
            ],
            "opted_out": False,
            "opted_out_at": None,
            "marketing_consent": False,
            "marketing_consent_at": None,
            "created_at": "2026-11-30T10:00:00Z",
            "updated_at": "2026-11-30T10:00:00Z",
        }

        clock.advance(hours=1)
        updated = await _put(
            client, clinic, "1001", {"first_name": "Kari", "last_name": "Berg", "mobile": None}
        )
        assert updated.status_code == 200, updated.text
        body = updated.json()
        assert body["last_name"] == "Berg"
        assert body["mobile"] is None
        assert body["textable"] is False
        assert body["not_textable_reason"] == "no_mobile"
        assert body["wants_sms"] is False
        assert body["guardians"] == []
        assert body["created_at"] == "2026-11-30T10:00:00Z"
        assert body["updated_at"] == "2026-11-30T11:00:00Z"
        assert await _get(client, clinic, "1001") == body | {
            "recall": NO_RECALL.model_dump(mode="json")
        }

    async def test_names_are_trimmed(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        response = await _put(client, clinic, "1", {"first_name": " Per ", "last_name": "Ås  "})
        assert response.status_code == 201
        assert (response.json()["first_name"], response.json()["last_name"]) == ("Per", "Ås")

    @pytest.mark.parametrize(
        "raw", ["91234567", "912 34 567", "+47 912 34 567", "+4791234567", "0047 91234567"]
    )
    async def test_numbers_are_normalised_to_e164(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, raw: str
    ) -> None:
        response = await _put(
            client,
            clinic,
            "7",
            {
                "first_name": "A",
                "last_name": "B",
                "mobile": raw,
                "guardians": [{"name": "C", "mobile": raw}],
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["mobile"] == "+4791234567"
        assert response.json()["guardians"][0]["mobile"] == "+4791234567"

    async def test_national_input_uses_the_clinics_country(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        settings = await client.patch(
            "/v1/settings", headers=clinic.headers, json={"country": "SE"}
        )
        assert settings.status_code == 200
        response = await _put(
            client, clinic, "7", {"first_name": "A", "last_name": "B", "mobile": "070-123 45 67"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["mobile"] == "+46701234567"

    async def test_landline_is_stored_but_not_textable(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _put(
            client,
            clinic,
            "2",
            {
                "first_name": "Per",
                "last_name": "Hansen",
                "mobile": "22 33 44 55",
                "guardians": [
                    {"name": "Mor", "mobile": "22 33 44 56"},
                    {"name": "Far", "mobile": None, "wants_sms": True},
                ],
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["mobile"] == "+4722334455"
        assert (body["textable"], body["not_textable_reason"]) == (False, "not_mobile")
        mother, father = body["guardians"]
        assert (mother["mobile"], mother["textable"]) == ("+4722334456", False)
        assert mother["not_textable_reason"] == "not_mobile"
        assert mother["wants_sms"] is False
        assert (father["mobile"], father["textable"]) == (None, False)
        assert father["not_textable_reason"] == "no_mobile"

    async def test_blank_mobile_means_no_mobile(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _put(
            client, clinic, "3", {"first_name": "A", "last_name": "B", "mobile": "  "}
        )
        assert response.status_code == 201
        assert response.json()["not_textable_reason"] == "no_mobile"

    async def test_stored_row_carries_problem_codes_and_search_text(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        body = {**KARI, "guardians": [{"name": "Mor", "mobile": "22334455"}]}
        assert (await _put(client, clinic, "P-9", body)).status_code == 201
        async with sessionmaker() as session:
            row = (await session.execute(select(Patient))).scalar_one()
        assert row.clinic_id == clinic.id
        assert row.mobile_problem is None
        assert row.guardians == [
            {
                "name": "Mor",
                "mobile": "+4722334455",
                "mobile_problem": "not_mobile",
                "wants_sms": False,
            }
        ]
        assert row.search_text == "kari nordmann p-9 +4791234567 +4722334455"

    async def test_opt_out_survives_an_update(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        assert (await _put(client, clinic, "1001", KARI)).status_code == 201
        async with sessionmaker() as session:
            row = (await session.execute(select(Patient))).scalar_one()
            row.opted_out_at = START_TIME - timedelta(days=1)
            await session.commit()
        response = await _put(client, clinic, "1001", {**KARI, "last_name": "Berg"})
        assert response.status_code == 200
        assert response.json()["opted_out"] is True
        assert response.json()["opted_out_at"] == "2026-11-29T10:00:00Z"


class TestInvalidInput:
    @pytest.mark.parametrize(
        ("change", "field", "code"),
        [
            ({"mobile": "12"}, "mobile", "invalid"),
            ({"mobile": "abc"}, "mobile", "unparsable"),
            ({"mobile": "+4712"}, "mobile", "invalid"),
            ({"guardians": [{"name": "Mor", "mobile": "123"}]}, "guardians.0.mobile", "invalid"),
            (
                {"guardians": [{"name": "Mor"}, {"name": "Far", "mobile": "hei"}]},
                "guardians.1.mobile",
                "unparsable",
            ),
        ],
    )
    async def test_invalid_number_is_422_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        change: dict[str, Any],
        field: str,
        code: str,
    ) -> None:
        assert (await _put(client, clinic, "1001", KARI)).status_code == 201
        before = await _get(client, clinic, "1001")

        response = await _put(client, clinic, "1001", {**KARI, "last_name": "Berg", **change})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 422
        assert problem["errors"] == [
            {"field": field, "reason": problem["errors"][0]["reason"], "code": code}
        ]
        assert await _get(client, clinic, "1001") == before

        created = await _put(client, clinic, "1002", {**KARI, **change})
        assert created.status_code == 422
        missing = await client.get(_url("1002"), headers=clinic.headers)
        assert missing.status_code == 404

    async def test_every_bad_number_is_named(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _put(
            client,
            clinic,
            "1",
            {
                "first_name": "A",
                "last_name": "B",
                "mobile": "1",
                "guardians": [{"name": "Mor", "mobile": "2"}, {"name": "Far", "mobile": "3"}],
            },
        )
        assert response.status_code == 422
        assert _fields(response.json()) == ["mobile", "guardians.0.mobile", "guardians.1.mobile"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**KARI, "guardians": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}, "guardians"),
            ({**KARI, "email": "kari@example.no"}, "email"),
            ({**KARI, "guardians": [{"name": "A", "relation": "mor"}]}, "guardians.0.relation"),
            ({**KARI, "first_name": ""}, "first_name"),
            ({**KARI, "first_name": "   "}, "first_name"),
            ({**KARI, "last_name": "x" * 101}, "last_name"),
            ({"last_name": "Nordmann"}, "first_name"),
            ({**KARI, "guardians": [{"mobile": "91234567"}]}, "guardians.0.name"),
            ({**KARI, "wants_sms": "maybe"}, "wants_sms"),
            ({**KARI, "mobile": 91234567}, "mobile"),
        ],
    )
    async def test_bad_body_is_422_naming_the_field(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, body: dict[str, Any], field: str
    ) -> None:
        response = await _put(client, clinic, "1001", body)
        assert response.status_code == 422, response.text
        assert field in _fields(response.json())
        assert (await client.get(_url("1001"), headers=clinic.headers)).status_code == 404

    async def test_patient_number_longer_than_50_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _put(client, clinic, "9" * 51, KARI)
        assert response.status_code == 422
        assert _fields(response.json()) == ["patient_no"]


class TestGet:
    async def test_missing_patient_is_404_problem(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.get(_url("404"), headers=clinic.headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/not-found"

    async def test_needs_an_api_key(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(_url("1"))).status_code == 401
        assert (await client.get("/v1/patients")).status_code == 401
        assert (await client.put(_url("1"), json=KARI)).status_code == 401
        assert (await client.delete(_url("1"))).status_code == 401


async def _seed(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    people = [
        ("1003", "Kari", "Nordmann", "912 34 567"),
        ("1001", "Ola", "Hansen", "+47 412 34 567"),
        ("1002", "Åse", "Ødegård", None),
        ("1004", "Per", "Karlsen", "22 33 44 55"),
    ]
    for patient_no, first, last, mobile in people:
        body = {"first_name": first, "last_name": last, "mobile": mobile}
        assert (await _put(client, clinic, patient_no, body)).status_code == 201


class TestList:
    async def test_lists_in_patient_number_order(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _seed(client, clinic)
        assert await _list(client, clinic) == (["1001", "1002", "1003", "1004"], None)

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("kari", ["1003"]),
            ("KAR", ["1003", "1004"]),
            ("ordma", ["1003"]),
            ("kari nordmann", ["1003"]),
            ("nordmann kari", ["1003"]),
            ("kari hansen", []),
            ("ødegå", ["1002"]),
            ("ÅSE", ["1002"]),
            ("1002", ["1002"]),
            ("912 34 567", ["1003"]),
            ("91234567", ["1003"]),
            ("+4791234567", ["1003"]),
            ("+47 912 34 567", ["1003"]),
            ("0047 91234567", ["1003"]),
            ("41234567", ["1001"]),
            ("2233", ["1004"]),
            ("34 567", ["1001", "1003"]),
            ("%", []),
            ("_", []),
            ("   ", ["1001", "1002", "1003", "1004"]),
        ],
    )
    async def test_search(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, q: str, expected: list[str]
    ) -> None:
        await _seed(client, clinic)
        assert await _list(client, clinic, q=q) == (expected, None)

    async def test_pages_have_no_duplicates_or_gaps(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        numbers = [f"P{i:03d}" for i in range(23)]
        for patient_no in reversed(numbers):
            body = {"first_name": "Test", "last_name": patient_no}
            assert (await _put(client, clinic, patient_no, body)).status_code == 201
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 5}
            if cursor is not None:
                params["cursor"] = cursor
            page, cursor = await _list(client, clinic, **params)
            pages += 1
            assert len(page) <= 5
            seen += page
            if cursor is None:
                break
        assert seen == numbers
        assert pages == 5

    async def test_exact_last_page_has_no_next_cursor(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _seed(client, clinic)
        first, cursor = await _list(client, clinic, limit=2)
        assert first == ["1001", "1002"]
        assert cursor is not None
        assert await _list(client, clinic, limit=2, cursor=cursor) == (["1003", "1004"], None)

    async def test_search_pages_with_the_cursor(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _seed(client, clinic)
        first, cursor = await _list(client, clinic, q="kar", limit=1)
        assert first == ["1003"]
        assert await _list(client, clinic, q="kar", limit=1, cursor=cursor) == (["1004"], None)

    @pytest.mark.parametrize("cursor", ["not-base64!", "////", "", "_w", "A" * 100])
    async def test_bad_cursor_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, cursor: str
    ) -> None:
        response = await client.get(
            "/v1/patients", headers=clinic.headers, params={"cursor": cursor}
        )
        assert response.status_code == 422, response.text
        assert _fields(response.json()) == ["cursor"]

    @pytest.mark.parametrize("limit", [0, 501, -1])
    async def test_limit_out_of_range_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, limit: int
    ) -> None:
        response = await client.get("/v1/patients", headers=clinic.headers, params={"limit": limit})
        assert response.status_code == 422
        assert _fields(response.json()) == ["limit"]

    async def test_limit_500_is_allowed(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await _seed(client, clinic)
        assert len((await _list(client, clinic, limit=500))[0]) == 4


class TestIsolation:
    async def test_another_clinic_sees_nothing_and_changes_nothing(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        assert (await _put(client, clinic, "1001", KARI)).status_code == 201
        mine = await _get(client, clinic, "1001")

        assert (await client.get(_url("1001"), headers=other_clinic.headers)).status_code == 404
        assert await _list(client, other_clinic) == ([], None)
        assert await _list(client, other_clinic, q="kari") == ([], None)
        assert await _list(client, other_clinic, q="91234567") == ([], None)
        deleted = await client.delete(_url("1001"), headers=other_clinic.headers)
        assert deleted.status_code == 404
        assert deleted.json()["type"] == "/problems/not-found"

        # The same patient number is a different patient in another clinic.
        theirs = await _put(client, other_clinic, "1001", {"first_name": "Jon", "last_name": "Lie"})
        assert theirs.status_code == 201
        assert "Kari" not in theirs.text
        assert theirs.json()["mobile"] is None
        assert await _get(client, clinic, "1001") == mine
        assert (await _get(client, other_clinic, "1001"))["first_name"] == "Jon"
        assert await _list(client, clinic) == (["1001"], None)

        assert (await client.delete(_url("1001"), headers=other_clinic.headers)).status_code == 204
        assert await _get(client, clinic, "1001") == mine

    async def test_a_cursor_from_another_clinic_shows_only_your_own(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await _seed(client, clinic)
        await _seed(client, other_clinic)
        _, cursor = await _list(client, clinic, limit=1)
        assert await _list(client, other_clinic, limit=10, cursor=cursor) == (
            ["1002", "1003", "1004"],
            None,
        )


def _message(
    clinic_id: uuid.UUID, patient: Patient | None, *, text: str, status: str = "sent"
) -> Message:
    return Message(
        clinic_id=clinic_id,
        patient_id=patient.id if patient else None,
        patient_no=patient.patient_no if patient else None,
        patient_name=f"{patient.first_name} {patient.last_name}" if patient else None,
        recipient_role="patient" if patient else "number",
        recipient_name=patient.first_name if patient else None,
        to_number=patient.mobile if patient else "+4799999999",
        type="reminder_1",
        text=text,
        encoding="GSM7",
        segments=1,
        cost=Decimal("0.45"),
        currency="NOK",
        status=status,
        send_kind="now",
        send_after=START_TIME,
        next_attempt_at=START_TIME,
        expires_at=START_TIME + timedelta(days=1),
        created_at=START_TIME,
    )


class TestErasure:
    async def test_delete_erases_the_patient_and_their_messages(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await _seed(client, clinic)
        async with sessionmaker() as session:
            patients = {
                p.patient_no: p
                for p in (await session.execute(select(Patient))).scalars()
                if p.clinic_id == clinic.id
            }
            kari, ola = patients["1003"], patients["1001"]
            messages = [
                _message(clinic.id, kari, text="Hei Kari, husk timen"),
                _message(clinic.id, kari, text="Hei Kari, ny time", status="pending"),
                _message(clinic.id, ola, text="Hei Ola"),
                _message(clinic.id, None, text="Til et nummer"),
                _message(other_clinic.id, None, text="Annen klinikk"),
            ]
            session.add_all(messages)
            await session.commit()
            erased_ids = {messages[0].id, messages[1].id}

        clock.advance(minutes=5)
        response = await client.delete(_url("1003"), headers=clinic.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert (await client.get(_url("1003"), headers=clinic.headers)).status_code == 404
        assert (await client.delete(_url("1003"), headers=clinic.headers)).status_code == 404
        assert (await _list(client, clinic))[0] == ["1001", "1002", "1004"]

        async with sessionmaker() as session:
            rows = (await session.execute(select(Message))).scalars().all()
        for row in rows:
            if row.id in erased_ids:
                assert row.text is None
                assert row.to_number is None
                assert row.recipient_name is None
                assert row.patient_name is None
                assert row.patient_no is None
                assert row.patient_id is None
                assert row.erased_at == START_TIME + timedelta(minutes=5)
                assert row.cost == Decimal("0.45")
            else:
                assert row.text is not None
                assert row.to_number is not None
                assert row.erased_at is None
        by_text = {row.text: row for row in rows}
        assert by_text["Hei Ola"].patient_id == ola.id
        assert by_text["Hei Ola"].patient_name == "Ola Hansen"
        statuses = {row.id: (row.status, row.cancelled_at) for row in rows if row.id in erased_ids}
        assert statuses == {
            messages[0].id: ("sent", None),
            messages[1].id: ("cancelled", START_TIME + timedelta(minutes=5)),
        }

    async def test_erasure_leaves_other_clinics_patient_with_same_number(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await _seed(client, clinic)
        await _seed(client, other_clinic)
        async with sessionmaker() as session:
            statement = select(Patient).where(
                col(Patient.clinic_id) == other_clinic.id, col(Patient.patient_no) == "1003"
            )
            theirs = (await session.execute(statement)).scalar_one()
            session.add(_message(other_clinic.id, theirs, text="Deres melding"))
            await session.commit()
        assert (await client.delete(_url("1003"), headers=clinic.headers)).status_code == 204
        assert (await _get(client, other_clinic, "1003"))["first_name"] == "Kari"
        async with sessionmaker() as session:
            row = (await session.execute(select(Message))).scalar_one()
        assert (row.text, row.patient_id, row.erased_at) == ("Deres melding", theirs.id, None)
