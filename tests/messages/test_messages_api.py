from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

Json = dict[str, Any]


async def post_message(
    client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any
) -> httpx.Response:
    return await client.post("/v1/messages", headers=clinic.headers, json=body)


async def list_messages(client: httpx.AsyncClient, clinic: ClinicAccess, **params: Any) -> Json:
    response = await client.get("/v1/messages", headers=clinic.headers, params=params)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


class TestCreate:
    async def test_template_message_to_a_patient(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, patient: Json, clock: FixedClock
    ) -> None:
        response = await post_message(
            client,
            clinic,
            patient_no="1001",
            template_type="reminder_1",
            practitioner="Tannlege Hansen",
            merge_values={"Tidspunkt": "tirsdag 1. desember kl. 14:30"},
        )
        assert response.status_code == 201, response.text
        [message] = response.json()["data"]
        assert message["status"] == "pending"
        assert message["status_code"] == "V"
        assert message["type"] == "reminder_1"
        assert message["to"] == "+4791234567"
        assert message["patient_no"] == "1001"
        assert message["patient_name"] == "Kari Nordmann"
        assert message["practitioner"] == "Tannlege Hansen"
        assert message["allow_reply"] is True
        assert "Kari" in message["text"]
        assert "tirsdag 1. desember kl. 14:30" in message["text"]
        assert message["encoding"] == "GSM-7"
        assert message["segments"] == 1
        assert message["send_after"] == clock.now().isoformat().replace("+00:00", "Z")
        assert message["scheduled_for"] == message["send_after"]
        assert message["expires_at"] == "2026-12-01T10:00:00Z"

    async def test_free_text_to_a_bare_number(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await post_message(client, clinic, to="0047 412 34 567", text="Hei fra oss")
        assert response.status_code == 201, response.text
        [message] = response.json()["data"]
        assert message["to"] == "+4741234567"
        assert message["type"] == "free_text"
        assert message["recipient_role"] == "number"
        assert message["allow_reply"] is False

    async def test_cost_is_segments_times_the_clinic_price(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch(
            "/v1/settings", headers=clinic.headers, json={"price_per_segment": "0.45"}
        )
        response = await post_message(client, clinic, to="+4791234567", text="a" * 161)
        [message] = response.json()["data"]
        assert message["segments"] == 2
        assert message["cost"] == {"amount": "0.90", "currency": "NOK"}

    async def test_guardians_with_consent_get_their_own_message(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(
            client,
            clinic,
            "2002",
            first_name="Ola",
            mobile=None,
            guardians=[
                {"name": "Mor Nordmann", "mobile": "+4791111111", "wants_sms": True},
                {"name": "Far Nordmann", "mobile": "+4792222222", "wants_sms": False},
            ],
        )
        response = await post_message(
            client, clinic, patient_no="2002", text="Hei [Fornavn]", include_guardians=True
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert [(m["recipient_role"], m["to"]) for m in body["data"]] == [
            ("guardian", "+4791111111")
        ]
        assert body["data"][0]["text"] == "Hei Ola"
        assert sorted((s["recipient_role"], s["reason"]) for s in body["skipped"]) == [
            ("guardian", "no_consent"),
            ("patient", "no_mobile"),
        ]

    async def test_one_handset_gets_one_message(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(
            client,
            clinic,
            "2003",
            first_name="Ola",
            mobile="+4791111111",
            wants_sms=True,
            guardians=[{"name": "Mor", "mobile": "911 11 111", "wants_sms": True}],
        )
        response = await post_message(
            client, clinic, patient_no="2003", text="Hei", include_guardians=True
        )
        body = response.json()
        assert [m["recipient_role"] for m in body["data"]] == ["patient"]
        assert [(s["recipient_role"], s["reason"]) for s in body["skipped"]] == [
            ("guardian", "duplicate")
        ]

    async def test_a_message_due_in_a_pause_waits_for_the_next_stretch(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        saturday_10_oslo = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
        response = await post_message(
            client, clinic, to="+4791234567", text="Hei", send_after=saturday_10_oslo.isoformat()
        )
        assert response.status_code == 201, response.text
        [message] = response.json()["data"]
        assert message["send_after"] == "2026-12-05T09:00:00Z"
        assert message["scheduled_for"] == "2026-12-07T07:00:00Z"  # Monday 08:00 Oslo
        assert message["expires_at"] == "2026-12-08T07:00:00Z"  # valid 24 h from then

    async def test_sms_switched_off_is_409(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"sms_enabled": False})
        response = await post_message(client, clinic, to="+4791234567", text="Hei")
        assert response.status_code == 409
        assert (await list_messages(client, clinic))["data"] == []


BAD_REQUESTS: list[tuple[str, Json, str]] = [
    ("landline", {"to": "22 33 44 55", "text": "Hei"}, "to"),
    ("not a number", {"to": "12", "text": "Hei"}, "to"),
    ("both recipients", {"to": "+4791234567", "patient_no": "1001", "text": "Hei"}, "body"),
    ("no recipient", {"text": "Hei"}, "body"),
    ("template and text", {"to": "+4791234567", "text": "Hei", "template_type": "general"}, "body"),
    ("empty text", {"to": "+4791234567", "text": ""}, "text"),
    ("unknown template", {"to": "+4791234567", "template_type": "birthday"}, "template_type"),
    ("unknown patient", {"patient_no": "404", "text": "Hei"}, "patient_no"),
    (
        "expiry before start",
        {
            "to": "+4791234567",
            "text": "Hei",
            "send_after": "2026-12-01T10:00:00Z",
            "expires_at": "2026-12-01T09:00:00Z",
        },
        "expires_at",
    ),
    (
        "more than a year ahead",
        {"to": "+4791234567", "text": "Hei", "send_after": "2027-12-31T10:00:00Z"},
        "send_after",
    ),
    (
        "naive time",
        {"to": "+4791234567", "text": "Hei", "send_after": "2026-12-01T10:00"},
        "send_after",
    ),
    ("over the cap", {"to": "+4791234567", "text": "ê" * 403}, "text"),
    ("missing merge value", {"to": "+4791234567", "template_type": "reminder_1"}, "template_type"),
    (
        "unknown merge value",
        {"to": "+4791234567", "text": "Hei", "merge_values": {"Navn": "x"}},
        "merge_values.Navn",
    ),
    ("unknown merge field", {"to": "+4791234567", "text": "Hei [Navn]"}, "text"),
    ("malformed bracket", {"to": "+4791234567", "text": "Hei [Fornavn"}, "text"),
    ("unknown field", {"to": "+4791234567", "text": "Hei", "priority": "high"}, "priority"),
    (
        "paused until after expiry",
        {
            "to": "+4791234567",
            "text": "Hei",
            "send_after": "2026-12-05T10:00:00Z",
            "expires_at": "2026-12-06T10:00:00Z",
        },
        "expires_at",
    ),
]


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"), [(b, f) for _, b, f in BAD_REQUESTS], ids=[n for n, _, _ in BAD_REQUESTS]
    )
    async def test_422_naming_the_field_and_nothing_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, patient: Json, body: Json, field: str
    ) -> None:
        response = await post_message(client, clinic, **body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in response.json()["errors"]]
        assert (await list_messages(client, clinic))["data"] == []

    async def test_over_the_cap_names_the_figures(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"max_segments": 2})
        response = await post_message(client, clinic, to="+4791234567", text="a" * 307)
        assert response.status_code == 422
        problem = response.json()
        assert (problem["segments"], problem["max_segments"], problem["length"]) == (3, 2, 307)
        assert problem["encoding"] == "GSM-7"

    async def test_patient_without_a_textable_number_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "3003", mobile="22 33 44 55")
        response = await post_message(client, clinic, patient_no="3003", text="Hei")
        assert response.status_code == 422
        assert "invalid_number" in response.json()["detail"]


class TestBulk:
    @pytest.mark.usefixtures("reply_number")
    async def test_each_patient_gets_an_outcome(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "1", marketing_consent=True)
        await put_patient(client, clinic, "2", wants_sms=True)
        await put_patient(client, clinic, "3", mobile=None)
        response = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={
                "patient_nos": ["1", "2", "3", "404", "1"],
                "template_type": "offer",
                "merge_values": {"URL": "https://t.no/x"},
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        outcomes = [(o["patient_no"], o["outcome"], o["reason"]) for o in body["outcomes"]]
        assert outcomes == [
            ("1", "queued", None),
            ("2", "skipped", "no_marketing_consent"),
            ("3", "skipped", "no_mobile"),
            ("404", "skipped", "unknown_patient"),
            ("1", "skipped", "duplicate"),
        ]
        assert (body["queued"], body["skipped"]) == (1, 4)
        listed = await list_messages(client, clinic)
        assert [m["id"] for m in listed["data"]] == body["outcomes"][0]["message_ids"]

    @pytest.mark.usefixtures("reply_number")
    async def test_marketing_follows_marketing_consent_not_wants_sms(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "1", wants_sms=False, marketing_consent=True)
        await put_patient(client, clinic, "2", wants_sms=True, mobile="+4791234568")
        response = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={
                "patient_nos": ["1", "2"],
                "template_type": "marketing",
                "merge_values": {"URL": "u"},
            },
        )
        outcomes = [
            (o["patient_no"], o["outcome"], o["reason"]) for o in response.json()["outcomes"]
        ]
        assert outcomes == [("1", "queued", None), ("2", "skipped", "no_marketing_consent")]
        stored = (await list_messages(client, clinic))["data"]
        assert [m["patient_no"] for m in stored] == ["1"]

    @pytest.mark.usefixtures("reply_number")
    async def test_opted_out_patients_get_no_marketing_but_do_get_service_messages(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, sessionmaker: Any
    ) -> None:
        from sqlalchemy import update

        from app.patients.models import Patient

        await put_patient(client, clinic, "7", wants_sms=True)
        await client.patch(
            "/v1/settings", headers=clinic.headers, json={"business_phone": "22334455"}
        )
        async with sessionmaker.begin() as session:
            await session.execute(update(Patient).values(opted_out_at=datetime.now(UTC)))
        marketing = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": ["7"], "template_type": "marketing", "merge_values": {"URL": "u"}},
        )
        assert marketing.json()["outcomes"][0]["reason"] == "opted_out"
        notice = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": ["7"], "template_type": "thank_you"},
        )
        assert notice.status_code == 200, notice.text
        assert notice.json()["outcomes"][0]["outcome"] == "queued"

    async def test_more_than_10000_is_422_and_nothing_stored(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, patient: Json
    ) -> None:
        response = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": ["1001"] * 10_001, "text": "Hei"},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "patient_nos"
        assert (await list_messages(client, clinic))["data"] == []

    async def test_sms_switched_off_skips_everyone(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, patient: Json
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"sms_enabled": False})
        response = await client.post(
            "/v1/messages/bulk", headers=clinic.headers, json={"patient_nos": ["1001"], "text": "x"}
        )
        assert response.json()["outcomes"][0]["reason"] == "sms_disabled"


class TestListAndGet:
    async def test_filters_and_stable_pagination(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, patient: Json, clock: FixedClock
    ) -> None:
        ids = []
        for index in range(7):
            clock.advance(seconds=1)
            response = await post_message(
                client, clinic, to=f"+47412345{index:02d}", text=f"Melding nummer {index}"
            )
            ids.append(response.json()["data"][0]["id"])
        clock.advance(seconds=1)
        await post_message(
            client, clinic, patient_no="1001", text="Til Kari", practitioner="Dr. Berg"
        )

        seen: list[str] = []
        cursor = None
        while True:
            params: Json = {"limit": 3, "type": "free_text"}
            if cursor:
                params["cursor"] = cursor
            page = await list_messages(client, clinic, **params)
            seen += [m["id"] for m in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 8
        assert seen[1:] == list(reversed(ids))

        assert [
            m["text"] for m in (await list_messages(client, clinic, patient_no="1001"))["data"]
        ] == ["Til Kari"]
        assert len((await list_messages(client, clinic, practitioner="Dr. Berg"))["data"]) == 1
        assert len((await list_messages(client, clinic, to="412 345 03"))["data"]) == 1
        assert len((await list_messages(client, clinic, q="NUMMER 4"))["data"]) == 1
        assert len((await list_messages(client, clinic, q="kari"))["data"]) == 1
        assert len((await list_messages(client, clinic, status="pending"))["data"]) == 8
        assert (await list_messages(client, clinic, status="sent"))["data"] == []
        since = (clock.now() - timedelta(seconds=1)).isoformat()
        assert len((await list_messages(client, clinic, created_from=since))["data"]) == 2

    async def test_bad_cursor_is_422(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        response = await client.get(
            "/v1/messages", headers=clinic.headers, params={"cursor": "not-a-cursor"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "cursor"


class TestCancel:
    async def test_pending_can_be_cancelled_once(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        created = await post_message(client, clinic, to="+4791234567", text="Hei")
        message_id = created.json()["data"][0]["id"]
        cancelled = await client.post(f"/v1/messages/{message_id}/cancel", headers=clinic.headers)
        assert cancelled.status_code == 200
        assert cancelled.json()["status_code"] == "A"
        assert cancelled.json()["cancelled_at"] is not None
        again = await client.post(f"/v1/messages/{message_id}/cancel", headers=clinic.headers)
        assert again.status_code == 409
        assert "already cancelled" in again.json()["detail"]


class TestIdempotency:
    async def test_same_key_same_body_replays(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        headers = {**clinic.headers, "Idempotency-Key": "abc-1"}
        body = {"to": "+4791234567", "text": "Hei"}
        first = await client.post("/v1/messages", headers=headers, json=body)
        second = await client.post("/v1/messages", headers=headers, json=body)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert len((await list_messages(client, clinic))["data"]) == 1

    async def test_same_key_other_body_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        headers = {**clinic.headers, "Idempotency-Key": "abc-2"}
        await client.post("/v1/messages", headers=headers, json={"to": "+4791234567", "text": "A"})
        response = await client.post(
            "/v1/messages", headers=headers, json={"to": "+4791234567", "text": "B"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
        assert len((await list_messages(client, clinic))["data"]) == 1

    async def test_keys_are_per_clinic(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        body = {"to": "+4791234567", "text": "Hei"}
        for access in (clinic, other_clinic):
            response = await client.post(
                "/v1/messages", headers={**access.headers, "Idempotency-Key": "k"}, json=body
            )
            assert response.status_code == 201
            assert "idempotent-replayed" not in response.headers


class TestIsolation:
    async def test_another_clinics_message_is_404_everywhere(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        created = await post_message(client, clinic, to="+4791234567", text="Hei")
        message_id = created.json()["data"][0]["id"]
        get = await client.get(f"/v1/messages/{message_id}", headers=other_clinic.headers)
        cancel = await client.post(
            f"/v1/messages/{message_id}/cancel", headers=other_clinic.headers
        )
        assert get.status_code == cancel.status_code == 404
        assert (await list_messages(client, other_clinic))["data"] == []
        assert (
            await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)
        ).status_code == 200


class TestListBadInput:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"created_from": "2026-11-01T00:00:00"}, "created_from"),
            ({"cursor": "WzUsIDZd"}, "cursor"),  # [5, 6]
            ({"cursor": "WyIyMDI2LTExLTAxVDAwOjAwOjAwIiwgIngiXQ=="}, "cursor"),
        ],
        ids=["naive-time", "cursor-of-numbers", "cursor-naive-time"],
    )
    async def test_422_not_500(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, params: Json, field: str
    ) -> None:
        response = await client.get("/v1/messages", headers=clinic.headers, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field

    async def test_free_text_search_treats_wildcards_literally(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await post_message(client, clinic, to="+4791234567", text="Rabatt 50% i dag")
        await post_message(client, clinic, to="+4791234567", text="Rabatt 50 kroner")
        found = await list_messages(client, clinic, q="50%")
        assert [m["text"] for m in found["data"]] == ["Rabatt 50% i dag"]

    async def test_free_text_search_folds_norwegian_letters_on_every_database(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await post_message(client, clinic, to="+4791234567", text="Hei Øyvind! Velkommen til ÆRØ")
        await post_message(client, clinic, to="+4791234567", text="Hei Oyvind")
        for query in ("øyvind", "ØYVIND", "ærø", "Ærø"):
            found = await list_messages(client, clinic, q=query)
            assert [m["text"] for m in found["data"]] == ["Hei Øyvind! Velkommen til ÆRØ"], query
