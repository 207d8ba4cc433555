"""The recall planner's other rules: skips with their reasons, the daily cap, a night
pause across a DST change, and the cron job over every clinic."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.recalls import tasks
from tests.appointments.conftest import NO_PAUSES, patch_settings, put_rules
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.recalls.conftest import (
    FIRST_SEND,
    RULE,
    URL_TEXT,
    due_patient,
    made_recall,
    plan,
    recall_messages,
    recall_of,
    save_recall_text,
    z,
)

pytestmark = pytest.mark.usefixtures("recall_rule")
FILLER = "x" * 80  # GSM-7 one segment; UCS-2 two


class TestSkips:
    async def test_no_mobile_is_skipped_and_looked_at_again_when_the_number_comes(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await due_patient(client, clinic, mobile=None)
        assert (await plan(sessionmaker, clinic, clock)).skipped == 1
        skipped = await recall_of(client, clinic, "1001")
        assert (skipped["state"], skipped["skip_reason"]) == ("skipped", "no_mobile")
        await put_patient(client, clinic, "1001")  # a mobile now; recall_due left out
        assert (await recall_of(client, clinic, "1001"))["state"] == "scheduled"
        assert (await plan(sessionmaker, clinic, clock)).made == 1

    async def test_a_text_with_url_needs_the_rules_booking_url(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await save_recall_text(client, clinic, URL_TEXT)
        refused = await client.put(
            "/v1/reminder-rules",
            headers=clinic.headers,
            json={"recall": RULE | {"booking_url": None}},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "recall.enabled"
        assert "booking_url" in refused.json()["errors"][0]["reason"]
        rules = (await client.get("/v1/reminder-rules", headers=clinic.headers)).json()
        assert rules["recall"]["booking_url"] == RULE["booking_url"], "nothing stored"

    async def test_a_text_over_the_clinics_segment_cap_is_too_long(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await patch_settings(client, clinic, max_segments=1)
        text = "Hei [Fornavn]! " + "Det er på tide med tannkontroll. " * 5
        saved = await client.put(
            "/v1/templates/recall",
            headers=clinic.headers,
            json={"text": text, "allow_reply": False},
        )
        assert saved.status_code == 200, saved.text
        await due_patient(client, clinic)
        await plan(sessionmaker, clinic, clock)
        skipped = await recall_of(client, clinic, "1001")
        assert (skipped["state"], skipped["skip_reason"]) == ("skipped", "too_long")

    async def test_a_name_the_provider_cannot_carry_is_skipped_like_a_reminder(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await patch_settings(client, clinic, provider="linkmobility")  # LINK carries no emoji
        await due_patient(client, clinic, first_name="Kari 🦷")
        assert (await plan(sessionmaker, clinic, clock)).skipped == 1
        skipped = await recall_of(client, clinic, "1001")
        assert (skipped["state"], skipped["skip_reason"]) == ("skipped", "unsupported_characters")
        assert await recall_messages(sessionmaker) == []

    async def test_the_text_is_smart_encoded(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await save_recall_text(client, clinic, f"Hei [Fornavn] – på tide med kontroll! {FILLER}")
        await due_patient(client, clinic)
        await plan(sessionmaker, clinic, clock)
        [made] = await recall_messages(sessionmaker)
        assert (made.text, made.encoding, made.segments) == (
            f"Hei Kari - på tide med kontroll! {FILLER}",
            "GSM-7",
            1,
        )

    async def test_guardians_get_it_too_when_the_clinic_includes_them(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await patch_settings(client, clinic, include_guardians=True)
        guardian = {"name": "Ola Nordmann", "mobile": "412 34 567", "wants_sms": True}
        await due_patient(client, clinic, guardians=[guardian])
        await plan(sessionmaker, clinic, clock)
        made = await recall_messages(sessionmaker)
        assert sorted(m.recipient_role for m in made) == ["guardian", "patient"]
        recall = await recall_of(client, clinic, "1001")
        assert recall["attempts"] == 1

    async def test_a_recall_cancelled_by_hand_shows_so(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        message_id = await made_recall(client, clinic, sessionmaker, clock)
        cancel = await client.post(f"/v1/messages/{message_id}/cancel", headers=clinic.headers)
        assert cancel.status_code == 200, cancel.text
        recall = await recall_of(client, clinic, "1001")
        assert (recall["state"], recall["skip_reason"]) == ("skipped", "cancelled")


class TestDailyCap:
    async def test_the_cap_spreads_the_list_over_days_earliest_due_first(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        clock: FixedClock,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await patch_settings(client, clinic, recall_daily_cap=2)
        dues = {
            "1001": "2026-12-30",
            "1002": "2026-12-01",
            "1003": "2026-12-29",
            "1004": "2026-11-15",
        }
        for patient_no, due in dues.items():
            await due_patient(client, clinic, patient_no, due=due)
        first = await plan(sessionmaker, clinic, clock)
        assert (first.made, first.held_back) == (2, 2)
        assert (await plan(sessionmaker, clinic, clock)).made == 0, "the day is full"
        clock.set(FIRST_SEND + timedelta(days=1, hours=-2))  # Tuesday
        assert (await plan(sessionmaker, clinic, clock)).made == 2
        made = [(m.patient_no, m.next_attempt_at) for m in await recall_messages(sessionmaker)]
        tuesday = FIRST_SEND + timedelta(days=1)
        assert made == [
            ("1002", FIRST_SEND),
            ("1004", FIRST_SEND),
            ("1001", tuesday),
            ("1003", tuesday),
        ]


async def test_a_night_pause_across_the_spring_dst_change(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Send hour 22:00 on Saturday 27 March 2027 (CET) is in the night pause: it goes when
    the pause ends, 08:00 on Sunday, which is summer time by then (06:00 UTC)."""
    pauses = NO_PAUSES | {"night_start": "21:00", "night_end": "08:00"}
    await patch_settings(client, clinic, pause_rules=pauses)
    await put_rules(client, clinic, recall=RULE | {"send_hour": 22, "days_before_due": 0})
    await due_patient(client, clinic, due="2027-03-27")
    morning = datetime(2027, 3, 28, 6, 0, tzinfo=UTC)
    assert (await recall_of(client, clinic, "1001"))["next_send_at"] == z(morning)
    clock.set(datetime(2027, 3, 27, 20, 30, tzinfo=UTC))  # 21:30 CET: paused
    assert (await plan(sessionmaker, clinic, clock)).made == 0
    clock.set(morning - timedelta(hours=2))
    assert (await plan(sessionmaker, clinic, clock)).made == 1
    [made] = await recall_messages(sessionmaker)
    assert made.next_attempt_at == morning


async def test_the_cron_job_plans_each_clinic_that_sends_recalls(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Any,
) -> None:
    await due_patient(client, clinic)
    await due_patient(client, other_clinic)  # recall is off there
    clock.advance(minutes=55)  # its send time (12:00) within the sweep's horizon
    result = await tasks.plan({"clock": clock, "sessionmaker": sessionmaker, "redis": redis})
    assert result == {"made": 1, "skipped": 0, "held_back": 0}
    [made] = await recall_messages(sessionmaker)
    assert (made.clinic_id, made.next_attempt_at) == (clinic.id, clock.now() + timedelta(minutes=5))
    assert await redis.zcard("arq:queue") == 1, "the worker is woken for the send time"
