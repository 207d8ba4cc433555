"""POST/GET/DELETE /v1/event-subscriptions and what gets recorded for them."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.events.models import EventDelivery, EventSubscription
from app.events.service import MAX_SUBSCRIPTIONS_PER_CLINIC, _listeners
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.replies.test_inbound import reply
from tests.webhooks.helpers import apply_reports, sent_message, webhook_path

HOOK = "https://pms.example.test/hooks/sms"
ALL_TYPES = [
    "message.status_changed",
    "reply.received",
    "patient.opted_out",
    "patient.opted_in",
    "appointment.confirmed",
    "appointment.cancellation_requested",
    "cap.reached",
]


async def subscribe(client: httpx.AsyncClient, clinic: ClinicAccess, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/event-subscriptions",
        headers=clinic.headers,
        json={"url": HOOK, "event_types": ALL_TYPES} | body,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def recorded(sessionmaker: async_sessionmaker[AsyncSession]) -> list[EventDelivery]:
    async with sessionmaker() as session:
        rows = await session.execute(select(EventDelivery).order_by(EventDelivery.created_at))  # type: ignore[arg-type]
        return list(rows.scalars())


class TestSubscriptions:
    async def test_the_secret_is_shown_once(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        created = await subscribe(client, clinic, description="Opus")
        assert created["secret"].startswith("whsec_")
        assert (created["url"], created["event_types"], created["active"]) == (
            HOOK,
            ALL_TYPES,
            True,
        )
        listed = (await client.get("/v1/event-subscriptions", headers=clinic.headers)).json()
        assert [s["id"] for s in listed["data"]] == [created["id"]]
        assert "secret" not in listed["data"][0]
        one = await client.get(f"/v1/event-subscriptions/{created['id']}", headers=clinic.headers)
        assert "secret" not in one.json()

    @pytest.mark.parametrize(
        "url",
        [
            "http://localhost:8080/hooks",
            "http://127.0.0.1/hooks",
            "http://[::1]:9000/",
            "https://pms.example.test/hooks?clinic=7",
        ],
    )
    async def test_https_or_local_http(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, url: str
    ) -> None:
        assert (await subscribe(client, clinic, url=url))["url"] == url

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"url": "http://pms.example.test/hooks"}, "url"),
            ({"url": "ftp://pms.example.test/hooks"}, "url"),
            ({"url": "https://user:pw@pms.example.test/"}, "url"),
            ({"url": "/relative"}, "url"),
            ({"url": "https://pms.example.test:99999/"}, "url"),
            ({"url": f"https://{'a' * 64}.example.test/"}, "url"),
            ({"event_types": []}, "event_types"),
            ({"event_types": ["message.sent"]}, "event_types.0"),
            ({"secret": "mine"}, "secret"),
        ],
    )
    async def test_invalid_subscriptions_are_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, body: dict[str, Any], field: str
    ) -> None:
        response = await client.post(
            "/v1/event-subscriptions",
            headers=clinic.headers,
            json={"url": HOOK, "event_types": ["reply.received"]} | body,
        )
        assert response.status_code == 422
        assert field in {error["field"] for error in response.json()["errors"]}

    async def test_delete_and_other_clinics(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        created = await subscribe(client, clinic)
        path = f"/v1/event-subscriptions/{created['id']}"
        assert (await client.delete(path, headers=other_clinic.headers)).status_code == 404
        assert (await client.get(path, headers=other_clinic.headers)).status_code == 404
        assert (await client.delete(path, headers=clinic.headers)).status_code == 204
        assert (await client.get(path, headers=clinic.headers)).status_code == 404

    async def test_a_clinic_has_a_limited_number(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        for _ in range(MAX_SUBSCRIPTIONS_PER_CLINIC):
            await subscribe(client, clinic)
        response = await client.post(
            "/v1/event-subscriptions",
            headers=clinic.headers,
            json={"url": HOOK, "event_types": ["reply.received"]},
        )
        assert response.status_code == 409


class TestRecording:
    async def test_status_changes_from_sending_reports_and_answers(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await subscribe(client, clinic, event_types=["message.status_changed"])
        await subscribe(client, other_clinic, event_types=["reply.received"])
        await put_patient(client, clinic, "1001")
        message_id = await sent_message(
            client, clinic, sessionmaker, clock, text="Svar gjerne", allow_reply=True
        )
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        clock.advance(seconds=5)
        await client.post(path, json={"refId": message_id, "id": "L1", "resultCode": 1001})
        await apply_reports(sessionmaker, clock)
        await client.post(path, json={"refId": message_id, "id": "L1", "resultCode": 1005})
        await apply_reports(sessionmaker, clock)
        clock.advance(minutes=1)
        await reply(client, clinic, "Takk")

        events = await recorded(sessionmaker)
        assert [e.event_type for e in events] == ["message.status_changed"] * 3
        assert [(e.data["status"], e.data["delivery"]) for e in events] == [
            ("sent", "accepted"),
            ("sent", "delivered"),
            ("answered", "delivered"),
        ]
        assert events[2].data["status_code"] == "SB"
        assert all(e.data["message_id"] == message_id for e in events)
        assert all("text" not in e.data and "to" not in e.data for e in events)

    async def test_failed_sends_are_announced(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await subscribe(client, clinic, event_types=["message.status_changed"])
        await client.patch(
            "/v1/settings", headers=clinic.headers, json={"provider": "linkmobility"}
        )
        # No sender configured for LINK: the send fails for good.
        message_id = await sent_message(client, clinic, sessionmaker, clock)
        [event] = await recorded(sessionmaker)
        assert (event.data["message_id"], event.data["status"], event.data["status_code"]) == (
            message_id,
            "failed",
            "F",
        )

    async def test_replies_and_opting_out_and_in(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        created = await subscribe(client, clinic)
        await put_patient(client, clinic, "1001")
        stop = await reply(client, clinic, "STOPP")
        clock.advance(minutes=1)
        await reply(client, clinic, "START igjen")
        # Events of one request share a time; within it the order is not defined.
        events = sorted(await recorded(sessionmaker), key=lambda e: (e.created_at, e.event_type))
        assert [e.event_type for e in events] == [
            "patient.opted_out",
            "reply.received",
            "patient.opted_in",
            "reply.received",
        ]
        assert all(str(e.subscription_id) == created["id"] for e in events)
        assert events[0].data == {
            "patient_no": "1001",
            "reply_id": stop["reply_id"],
            "at": "2026-11-30T10:00:00Z",
        }
        assert events[1].data["text"] == "STOPP"
        assert events[1].data["from"] == "+4791234567"
        assert events[1].data["keyword"] == "stop"

    async def test_nothing_for_unwanted_types_or_disabled_subscriptions(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await subscribe(client, clinic, event_types=["appointment.confirmed"])
        await reply(client, clinic, "Hei")
        assert await recorded(sessionmaker) == []

    async def test_erasure_scrubs_event_data(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await subscribe(client, clinic, event_types=["reply.received"])
        await put_patient(client, clinic, "1001")
        await reply(client, clinic, "Hei, det er Kari")
        await client.delete("/v1/patients/1001", headers=clinic.headers)
        [event] = await recorded(sessionmaker)
        assert event.data == {"erased": True}
        assert event.erased_at is not None

    async def test_erasure_scrubs_a_reply_that_came_before_the_patient_did(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """Unmatched when it came, so its event names no patient: found by its reply."""
        await subscribe(client, clinic, event_types=["reply.received"])
        await reply(client, clinic, "Hei, det er Kari")
        await reply(client, clinic, "Hei fra noen andre", sender="+4798765432")
        await put_patient(client, clinic, "1001")
        await client.delete("/v1/patients/1001", headers=clinic.headers)
        events = await recorded(sessionmaker)
        assert sorted(str(event.data.get("text")) for event in events) == [
            "Hei fra noen andre",
            "None",
        ]
        listed = await client.get("/v1/event-deliveries", headers=clinic.headers)
        assert "Hei, det er Kari" not in listed.text


class TestDeletedMeanwhile:
    async def test_a_subscription_being_told_about_an_event_is_deleted_only_after(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        """Otherwise a DELETE between reading the subscriptions and inserting their
        deliveries breaks the foreign key, and the send loop's whole record with it."""
        created = await subscribe(client, clinic)
        async with sessionmaker() as recording:
            if recording.get_bind().dialect.name != "postgresql":
                pytest.skip("SQLite has one writer at a time: no interleaving")
            listeners = await _listeners(recording, {clinic.id})
            assert [subscription_id for subscription_id, _ in listeners[clinic.id]] == [
                uuid.UUID(created["id"])
            ]
            async with sessionmaker() as deleting:
                await deleting.execute(text("SET LOCAL lock_timeout = '200ms'"))
                with pytest.raises(DBAPIError, match="lock timeout"):
                    await deleting.execute(
                        delete(EventSubscription).where(
                            col(EventSubscription.id) == uuid.UUID(created["id"])
                        )
                    )
            await recording.commit()
