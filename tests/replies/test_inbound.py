"""Inbound SMS through the providers' webhooks: stored always, matched to the patient and
to the message it answers, keywords acted on, and kept apart per clinic."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.patients.models import Patient
from app.replies.models import Reply
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.support.twilio import FORM, post_form, post_signed
from tests.webhooks.helpers import NUMBER, load_message, sent_message, webhook_path

GUARDIAN = "+4792222222"


def link_mo(text: str, sender: str = NUMBER, message_id: str | None = None) -> dict[str, Any]:
    return {
        "destination": "NO-2333",
        "subNumber": None,
        "source": sender,
        "content": {"type": "SMS", "userData": text, "encoding": "TEXT"},
        "operator": "no.telenor",
        "timestamp": "2026-11-30T10:05:00Z",
        "messageId": message_id or uuid.uuid4().hex,
        "route": {"type": "KEYWORD_ROUTE", "keyword": "JA", "keywordType": "FIRST_WORD"},
    }


async def reply(
    client: httpx.AsyncClient, clinic: ClinicAccess, text: str, **fields: Any
) -> dict[str, Any]:
    path = await webhook_path(client, clinic, "linkmobility", "inbound")
    response = await client.post(path, json=link_mo(text, **fields))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def replies_of(client: httpx.AsyncClient, clinic: ClinicAccess) -> list[dict[str, Any]]:
    response = await client.get("/v1/replies", headers=clinic.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def reminder(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    patient_no: str = "1001",
    **body: Any,
) -> str:
    return await sent_message(
        client,
        clinic,
        sessionmaker,
        clock,
        to=None,
        text=None,
        patient_no=patient_no,
        template_type="reminder_1",
        merge_values={"Tidspunkt": "tirsdag 1. desember kl. 14:30"},
        practitioner="Tannlege Hansen",
        appointment_id="A-1",
        **body,
    )


async def message_json(client: httpx.AsyncClient, clinic: ClinicAccess, message_id: str) -> Any:
    return (await client.get(f"/v1/messages/{message_id}", headers=clinic.headers)).json()


class TestMatching:
    async def test_a_reply_answers_the_newest_replyable_message(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(client, clinic, "1001")
        older = await reminder(client, clinic, sessionmaker, clock)
        clock.advance(hours=1)
        newer = await reminder(client, clinic, sessionmaker, clock)
        clock.advance(hours=1)
        await sent_message(
            client, clinic, sessionmaker, clock, text="Ingen svar", allow_reply=False
        )
        clock.advance(minutes=10)

        answer = await reply(client, clinic, "Ja, jeg kommer")

        assert answer["stored"] is True
        [stored] = await replies_of(client, clinic)
        assert stored["id"] == answer["reply_id"]
        assert stored["from"] == NUMBER
        assert stored["to"] == "2333"  # LINK's NO-2333, stored as the short code
        assert stored["text"] == "Ja, jeg kommer"
        assert stored["patient_no"] == "1001"
        assert stored["message_id"] == newer
        assert stored["keyword"] == "confirm"
        assert (stored["read"], stored["follow_up"], stored["erased"]) == (False, False, False)
        message = await message_json(client, clinic, newer)
        assert (message["status"], message["status_code"]) == ("answered", "SB")
        assert message["answered_at"] == clock.now().isoformat().replace("+00:00", "Z")
        assert (await message_json(client, clinic, older))["status"] == "sent"

    async def test_a_second_reply_keeps_the_first_answer_time(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(client, clinic, "1001")
        message_id = await reminder(client, clinic, sessionmaker, clock)
        await reply(client, clinic, "JA")
        answered_at = (await load_message(sessionmaker, message_id)).answered_at
        clock.advance(minutes=3)
        await reply(client, clinic, "Forresten, kan jeg komme litt senere?")
        message = await load_message(sessionmaker, message_id)
        assert (message.status, message.answered_at) == ("answered", answered_at)
        assert [r["message_id"] for r in await replies_of(client, clinic)] == [message_id] * 2

    async def test_a_reply_matching_nothing_is_kept(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await reply(client, clinic, "Hvem er dette?", sender="+4798765432")
        [stored] = await replies_of(client, clinic)
        assert stored["from"] == "+4798765432"
        assert (stored["patient_no"], stored["message_id"], stored["keyword"]) == (None, None, None)

    async def test_after_the_reply_window_the_message_is_not_matched(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"reply_window_hours": 24})
        await put_patient(client, clinic, "1001")
        message_id = await reminder(client, clinic, sessionmaker, clock)
        clock.advance(hours=24, seconds=1)
        await reply(client, clinic, "JA")
        [stored] = await replies_of(client, clinic)
        assert (stored["message_id"], stored["patient_no"], stored["keyword"]) == (
            None,
            "1001",
            None,
        )
        assert (await load_message(sessionmaker, message_id)).status == "sent"

    async def test_just_inside_the_window_it_is(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"reply_window_hours": 24})
        await put_patient(client, clinic, "1001")
        message_id = await reminder(client, clinic, sessionmaker, clock)
        clock.advance(hours=24)
        await reply(client, clinic, "JA")
        assert (await load_message(sessionmaker, message_id)).status == "answered"

    async def test_a_guardians_reply_matches_the_child(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(
            client,
            clinic,
            "2002",
            first_name="Ola",
            mobile=None,
            guardians=[{"name": "Mor Nordmann", "mobile": GUARDIAN, "wants_sms": True}],
        )
        message_id = await reminder(
            client, clinic, sessionmaker, clock, patient_no="2002", include_guardians=True
        )
        await reply(client, clinic, "nei", sender=GUARDIAN)
        [stored] = await replies_of(client, clinic)
        assert (stored["patient_no"], stored["message_id"], stored["keyword"]) == (
            "2002",
            message_id,
            "cancel",
        )

    async def test_a_guardians_number_matches_the_child_without_a_message(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(
            client,
            clinic,
            "2002",
            mobile=None,
            guardians=[{"name": "Far", "mobile": GUARDIAN, "wants_sms": False}],
        )
        await reply(client, clinic, "Hei", sender="004792222222")
        [stored] = await replies_of(client, clinic)
        assert (stored["from"], stored["patient_no"]) == (GUARDIAN, "2002")

    async def test_two_clinics_texting_the_same_number_each_see_their_own(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(client, clinic, "1001")
        await put_patient(client, other_clinic, "77")
        ours = await reminder(client, clinic, sessionmaker, clock)
        clock.advance(minutes=1)
        theirs = await reminder(client, other_clinic, sessionmaker, clock, patient_no="77")
        clock.advance(minutes=1)

        await reply(client, clinic, "JA", message_id="same-provider-id")
        await reply(client, other_clinic, "NEI", message_id="same-provider-id")

        [mine] = await replies_of(client, clinic)
        [their] = await replies_of(client, other_clinic)
        assert (mine["message_id"], mine["patient_no"], mine["keyword"]) == (
            ours,
            "1001",
            "confirm",
        )
        assert (their["message_id"], their["patient_no"], their["keyword"]) == (
            theirs,
            "77",
            "cancel",
        )
        other = await client.get(f"/v1/replies/{mine['id']}", headers=other_clinic.headers)
        assert other.status_code == 404

    async def test_the_same_inbound_twice_stores_nothing_new(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        first = await reply(client, clinic, "STOPP", message_id="mo-1")
        again = await reply(client, clinic, "STOPP", message_id="mo-1")
        assert first["stored"] is True
        assert again == {"stored": False, "reply_id": None}
        async with sessionmaker() as session:
            count = await session.execute(select(func.count()).select_from(Reply))
        assert count.scalar_one() == 1


async def opted_out_at(sessionmaker: async_sessionmaker[AsyncSession], patient_no: str) -> Any:
    async with sessionmaker() as session:
        row = await session.execute(
            select(Patient.opted_out_at).where(Patient.patient_no == patient_no)  # type: ignore[arg-type]
        )
        return row.scalar_one()


class TestKeywords:
    @pytest.mark.usefixtures("reply_number")
    async def test_stop_withdraws_marketing_consent_and_start_gives_none_back(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await put_patient(client, clinic, "1001", marketing_consent=True)
        await put_patient(client, clinic, "1002", marketing_consent=True)
        await reply(client, clinic, "STOPP")
        for patient_no in ("1001", "1002"):
            patient = (
                await client.get(f"/v1/patients/{patient_no}", headers=clinic.headers)
            ).json()
            assert (patient["marketing_consent"], patient["marketing_consent_at"]) == (False, None)
        await reply(client, clinic, "START")
        patient = (await client.get("/v1/patients/1001", headers=clinic.headers)).json()
        assert (patient["opted_out"], patient["marketing_consent"]) == (False, False)
        marketing = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": ["1001"], "template_type": "marketing"},
        )
        assert marketing.json()["outcomes"][0]["reason"] == "no_marketing_consent"

    @pytest.mark.parametrize("text", ["STOPP", "stopp", " Stop ", "STOPP!", "stopp takk"])
    @pytest.mark.usefixtures("reply_number")
    async def test_stop_opts_out_and_start_opts_back_in(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        text: str,
    ) -> None:
        await put_patient(client, clinic, "1001", wants_sms=True)
        await reply(client, clinic, text)
        assert await opted_out_at(sessionmaker, "1001") == clock.now()
        patient = (await client.get("/v1/patients/1001", headers=clinic.headers)).json()
        assert patient["opted_out"] is True
        marketing = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": ["1001"], "template_type": "marketing"},
        )
        assert marketing.json()["outcomes"][0]["reason"] == "opted_out"

        clock.advance(hours=1)
        await reply(client, clinic, "start")
        assert await opted_out_at(sessionmaker, "1001") is None
        keywords = [r["keyword"] for r in await replies_of(client, clinic)]
        assert keywords == ["start", "stop"]

    async def test_stop_reaches_every_patient_with_the_number(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        siblings = [{"name": "Mor", "mobile": GUARDIAN, "wants_sms": True}]
        await put_patient(client, clinic, "1", mobile=None, guardians=siblings)
        await put_patient(client, clinic, "2", mobile=None, guardians=siblings)
        await put_patient(client, clinic, "3", mobile="+4793333333")
        await put_patient(client, other_clinic, "9", mobile=GUARDIAN)
        await reply(client, clinic, "STOP", sender=GUARDIAN)
        assert await opted_out_at(sessionmaker, "1") is not None
        assert await opted_out_at(sessionmaker, "2") is not None
        assert await opted_out_at(sessionmaker, "3") is None
        assert await opted_out_at(sessionmaker, "9") is None
        [stored] = await replies_of(client, clinic)
        assert stored["patient_no"] is None  # two patients share the number: ambiguous

    async def test_confirm_and_cancel_only_for_reminders_and_booking_confirmations(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(client, clinic, "1001")
        await sent_message(
            client, clinic, sessionmaker, clock, text="Ring oss gjerne", allow_reply=True
        )
        clock.advance(minutes=1)
        await reply(client, clinic, "JA")
        [stored] = await replies_of(client, clinic)
        assert stored["message_id"] is not None
        assert stored["keyword"] is None

    async def test_the_clinics_own_keywords(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        settings = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"confirm_keyword": "ok", "cancel_keyword": "Avlys"},
        )
        assert (settings.json()["confirm_keyword"], settings.json()["cancel_keyword"]) == (
            "OK",
            "AVLYS",
        )
        await put_patient(client, clinic, "1001")
        await reminder(client, clinic, sessionmaker, clock)
        for text in ("ja", "Ok.", "avlys timen"):
            clock.advance(seconds=1)
            await reply(client, clinic, text)
        keywords = [r["keyword"] for r in await replies_of(client, clinic)]
        assert keywords == ["cancel", "confirm", None]


class TestProviders:
    async def test_sinch_mo_text(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(client, clinic, "1001")
        message_id = await reminder(client, clinic, sessionmaker, clock)
        path = await webhook_path(client, clinic, "sinch", "inbound")
        body = {
            "type": "mo_text",
            "id": "01FC66621VHDBN119Z8PMV1AHY",
            "from": NUMBER.lstrip("+"),
            "to": "4790000000",
            "body": "Ja",
            "received_at": "2026-11-30T10:01:00.000Z",
            "operator_id": "24201",
        }
        response = await client.post(path, json=body)
        assert response.json()["stored"] is True
        [stored] = await replies_of(client, clinic)
        assert (stored["from"], stored["message_id"], stored["provider"]) == (
            NUMBER,
            message_id,
            "sinch",
        )
        assert stored["to"] == "+4790000000"  # Sinch leaves out the `+`; stored in E.164

    async def test_sinch_without_text_is_acknowledged_only(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        path = await webhook_path(client, clinic, "sinch", "inbound")
        response = await client.post(path, json={"type": "mo_binary", "id": "1", "from": "47"})
        assert response.status_code == 200
        assert response.json() == {"stored": False, "reply_id": None}

    async def test_twilio_inbound_is_signed_and_answered_with_empty_twiml(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        token = "tw-token"
        await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"provider_credentials": {"twilio": {"auth_token": token}}},
        )
        path = await webhook_path(client, clinic, "twilio", "inbound")
        form = {
            "MessageSid": "SM1",
            "AccountSid": "AC1",
            "From": NUMBER,
            "To": "+4790000000",
            "Body": "STOPP",
            "NumMedia": "0",
        }
        forged = await post_form(client, path, form, FORM | {"X-Twilio-Signature": "AAAA"})
        assert forged.status_code == 401
        response = await post_signed(client, path, form, key=token)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        assert response.text.endswith("<Response></Response>")
        [stored] = await replies_of(client, clinic)
        assert (stored["text"], stored["keyword"]) == ("STOPP", "stop")

    async def test_a_twilio_clinic_takes_no_replies_through_an_unsigned_url(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        """LINK's and Sinch's webhooks check no signature: a forged STOPP or NEI must not
        get past Twilio's signature through them, even with the URL secret."""
        response = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={
                "provider": "twilio",
                "sender_name": "Tannlegen",
                "provider_credentials": {
                    "twilio": {
                        "account_sid": "AC0123456789abcdef0123456789abcdef",
                        "auth_token": "t",
                    }
                },
            },
        )
        assert response.status_code == 200, response.text
        for provider, body in (
            ("linkmobility", link_mo("STOPP")),
            ("sinch", {"type": "mo_text", "id": "1", "from": NUMBER, "body": "STOPP"}),
        ):
            path = await webhook_path(client, clinic, provider, "inbound")
            assert (await client.post(path, json=body)).status_code == 404
        assert await replies_of(client, clinic) == []

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({"source": NUMBER, "content": {"userData": "Hei"}}, "messageId"),
            ({"messageId": "1", "content": {"userData": "Hei"}}, "source"),
            ({"messageId": "1", "source": NUMBER}, "content"),
            ({"messageId": "1", "source": NUMBER, "content": {"userData": 5}}, "userData"),
        ],
    )
    async def test_a_malformed_inbound_is_400_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        body: dict[str, Any],
        reason: str,
    ) -> None:
        path = await webhook_path(client, clinic, "linkmobility", "inbound")
        response = await client.post(path, json=body)
        assert response.status_code == 400
        assert reason in response.json()["detail"]
        assert await replies_of(client, clinic) == []

    async def test_unknown_secret_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/webhooks/linkmobility/nope/inbound", json=link_mo("Hei"))
        assert response.status_code == 404


class TestErasure:
    async def test_erasing_a_patient_scrubs_their_replies(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await put_patient(client, clinic, "1001")
        await reminder(client, clinic, sessionmaker, clock)
        await reply(client, clinic, "JA")
        await reply(client, clinic, "Hei fra en annen", sender="+4798765432")
        clock.advance(days=1)
        response = await client.delete("/v1/patients/1001", headers=clinic.headers)
        assert response.status_code == 204
        replies = {r["keyword"]: r for r in await replies_of(client, clinic)}
        erased, kept = replies["confirm"], replies[None]
        assert (erased["text"], erased["from"], erased["patient_no"], erased["erased"]) == (
            None,
            None,
            None,
            True,
        )
        assert (kept["text"], kept["erased"]) == ("Hei fra en annen", False)
        async with sessionmaker() as session:
            row = await session.get(Reply, uuid.UUID(erased["id"]))
            assert row is not None
            assert row.erased_at == clock.now()
        assert timedelta(0) < clock.now() - row.received_at
