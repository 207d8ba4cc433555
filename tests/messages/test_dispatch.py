"""The send loop with an injected clock, real databases and a provider that records."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clinic_settings.models import ClinicSettings
from app.core.clock import FixedClock
from app.deliveries.service import DeliveryReport, apply_delivery_reports
from app.events.models import EventDelivery
from app.messages import record as record_module
from app.messages.models import DeliveryState, Message
from app.messages.sweep import expire_overdue, settle_abandoned_sends
from app.providers.base import PAUSE_BEGAN, Failed, FailureKind, OutboundSms, SendResult
from app.providers.http import OUT_OF_TIME
from app.providers.sandbox import (
    NO_REPORT_NUMBER,
    PERMANENT_FAILURE_NUMBER,
    RETRYABLE_FAILURE_NUMBER,
    TIMEOUT_NUMBER,
    SandboxProvider,
)
from app.worker.models import WorkerStatus
from tests.conftest import ClinicAccess
from tests.support.dispatch import RecordingProvider
from tests.support.dispatch import dispatch_once as dispatch


async def send(client: httpx.AsyncClient, clinic: ClinicAccess, to: str, **body: Any) -> str:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": to, "text": "Hei"} | body
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["data"][0]["id"]
    return message_id


async def load(sessionmaker: async_sessionmaker[AsyncSession], message_id: str) -> Message:
    async with sessionmaker() as session:
        message = await session.get(Message, uuid.UUID(message_id))
        assert message is not None
        return message


class TestSending:
    async def test_due_messages_go_in_one_batch_and_are_recorded(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        ids = [await send(client, clinic, f"+479123456{i}") for i in range(5)]
        provider = RecordingProvider()
        stats = await dispatch(sessionmaker, clock, provider)
        assert (stats.claimed, stats.accepted) == (5, 5)
        assert len(provider.batches) == 1
        assert sorted(provider.sent_ids) == sorted(ids)
        message = await load(sessionmaker, ids[0])
        assert message.status == "sent"
        assert message.delivery == "accepted"
        assert message.sent_at == clock.now()
        assert message.provider == "recording"
        assert message.provider_message_id == f"p-{ids[0]}"
        assert message.attempts == 1
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0
        assert len(provider.batches) == 1

    async def test_batches_are_bounded_and_split_to_the_provider_size(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        for i in range(7):
            await send(client, clinic, f"+479123456{i}")
        provider = RecordingProvider(max_batch_size=2)
        stats = await dispatch(sessionmaker, clock, provider, limit=5)
        assert stats.claimed == 5
        assert [len(batch) for batch in provider.batches] == [2, 2, 1]
        assert (await dispatch(sessionmaker, clock, provider, limit=5)).claimed == 2

    async def test_the_database_work_for_a_batch_is_a_few_statements(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        clock: FixedClock,
    ) -> None:
        response = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": [str(i) for i in range(60)], "text": "Hei"},
        )
        for i in range(60):
            await client.put(
                f"/v1/patients/{i}",
                headers=clinic.headers,
                json={"first_name": "A", "last_name": "B", "mobile": f"+4791{i:06d}"},
            )
        response = await client.post(
            "/v1/messages/bulk",
            headers=clinic.headers,
            json={"patient_nos": [str(i) for i in range(60)], "text": "Hei"},
        )
        assert response.json()["queued"] == 60
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            stats = await dispatch(sessionmaker, clock, RecordingProvider())
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert stats.accepted == 60
        writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
        assert len(writes) <= 3, writes
        # Two of them are the spending caps': the clinic's lock and today's counts.
        assert len(statements) <= 10, statements

    async def test_not_yet_due_is_left_alone(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        later = clock.now() + timedelta(hours=2)
        message_id = await send(client, clinic, "+4791234567", send_after=later.isoformat())
        provider = RecordingProvider()
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0
        clock.set(later)
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 1
        assert provider.sent_ids == [message_id]

    async def test_a_clinic_paused_at_send_time_waits_for_the_next_stretch(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567", expires_at="2026-12-03T10:00:00Z")
        clock.set(datetime(2026, 11, 30, 21, 30, tzinfo=UTC))  # 22:30 in Oslo: night pause
        provider = RecordingProvider()
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0
        message = await load(sessionmaker, message_id)
        assert message.status == "pending"
        assert message.next_attempt_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
        assert message.attempts == 0
        assert provider.batches == []

    async def test_each_message_says_by_when_a_request_for_it_may_start(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        soon = clock.now() + timedelta(hours=1)
        await send(client, clinic, "+4791234567", expires_at=soon.isoformat())
        await send(client, clinic, "+4791234568", expires_at="2026-12-03T10:00:00Z")
        provider = RecordingProvider()
        await dispatch(sessionmaker, clock, provider)
        night = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 21:00 in Oslo
        assert {sms.to: sms.send_by for sms in provider.sent} == {
            "+4791234567": soon,
            "+4791234568": night,
        }

    async def test_a_pause_that_begins_while_sending_puts_the_message_back(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567", expires_at="2026-12-03T10:00:00Z")
        clock.set(datetime(2026, 11, 30, 19, 59, 59, tzinfo=UTC))  # 20:59:59 in Oslo

        class LateProvider(RecordingProvider):
            async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
                clock.advance(seconds=2)  # earlier requests took the last second
                return [PAUSE_BEGAN for _ in messages]

        stats = await dispatch(sessionmaker, clock, LateProvider())
        assert (stats.claimed, stats.retried) == (1, 1)
        message = await load(sessionmaker, message_id)
        assert message.status == "pending"
        assert message.next_attempt_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
        assert message.attempts == 0  # not a failed attempt: nothing was tried

    async def test_a_batch_out_of_time_retries_without_counting_an_attempt(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567", expires_at="2026-12-03T10:00:00Z")
        provider = RecordingProvider(answers={"+4791234567": OUT_OF_TIME})
        stats = await dispatch(sessionmaker, clock, provider)
        assert stats.retried == 1
        message = await load(sessionmaker, message_id)
        assert message.status == "pending"
        assert message.next_attempt_at == clock.now() + timedelta(seconds=30)
        assert message.attempts == 0  # nothing was sent

    async def test_sms_switched_off_holds_messages(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await send(client, clinic, "+4791234567")
        await client.patch("/v1/settings", headers=clinic.headers, json={"sms_enabled": False})
        assert (await dispatch(sessionmaker, clock, RecordingProvider())).claimed == 0


class TestFailures:
    async def test_permanent_failure_fails_with_the_reason(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567")
        provider = RecordingProvider(
            answers={"+4791234567": Failed(FailureKind.PERMANENT, "unknown subscriber", "2104")}
        )
        await dispatch(sessionmaker, clock, provider)
        message = await load(sessionmaker, message_id)
        assert message.status == "failed"
        assert message.failure_reason == "provider_rejected"
        assert message.failure_detail == "unknown subscriber"

    async def test_retryable_failure_backs_off_while_the_window_is_open(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        expires = clock.now() + timedelta(minutes=2)
        message_id = await send(client, clinic, "+4791234567", expires_at=expires.isoformat())
        provider = RecordingProvider(
            answers={"+4791234567": Failed(FailureKind.RETRYABLE, "throttled", "429")}
        )
        await dispatch(sessionmaker, clock, provider)
        message = await load(sessionmaker, message_id)
        assert message.status == "pending"
        assert message.next_attempt_at == clock.now() + timedelta(seconds=30)
        assert message.failure_detail == "throttled"

        clock.advance(seconds=29)
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0
        clock.advance(seconds=1)
        await dispatch(sessionmaker, clock, provider)  # attempt 2, next in 60 s
        clock.advance(seconds=60)
        await dispatch(sessionmaker, clock, provider)  # attempt 3; 120 s more passes expiry
        message = await load(sessionmaker, message_id)
        assert len(provider.batches) == 3
        assert message.status == "failed"
        assert message.failure_reason == "retries_exhausted"
        assert message.failure_detail == "throttled"

    @pytest.mark.parametrize("raise_error", [False, True], ids=["timeout", "adapter-raises"])
    async def test_unknown_outcome_is_sent_unknown_and_never_sent_again(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        raise_error: bool,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567")
        provider = RecordingProvider(
            answers={"+4791234567": Failed(FailureKind.UNKNOWN_OUTCOME, "read timeout")}
        )
        provider.raise_error = raise_error
        await dispatch(sessionmaker, clock, provider)
        message = await load(sessionmaker, message_id)
        assert message.status == "sent"
        assert message.delivery == "unknown"
        clock.advance(hours=1)
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0
        assert provider.sent_ids == [message_id]

    async def test_overdue_pending_messages_expire(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        expires = clock.now() + timedelta(minutes=5)
        message_id = await send(client, clinic, "+4791234567", expires_at=expires.isoformat())
        clock.set(expires)
        provider = RecordingProvider()
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0
        async with sessionmaker.begin() as session:
            assert await expire_overdue(session, now=clock.now()) == 1
        message = await load(sessionmaker, message_id)
        assert (message.status, message.failure_reason) == ("failed", "expired")

    async def test_a_message_left_sending_by_a_dead_worker_is_never_resent(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567")
        await _claim_by(sessionmaker, clock, "dead-worker")
        clock.advance(seconds=59)
        assert await _settle(sessionmaker, clock) == 0, "its heartbeat is not yet stale"
        clock.advance(seconds=2)
        assert await _settle(sessionmaker, clock) == 1
        message = await load(sessionmaker, message_id)
        assert (message.status, message.delivery) == ("sent", "unknown")
        provider = RecordingProvider()
        assert (await dispatch(sessionmaker, clock, provider)).claimed == 0

    async def test_a_live_slow_worker_keeps_its_claims_until_the_longest_send(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await send(client, clinic, "+4791234567")
        await _claim_by(sessionmaker, clock, "slow-worker")
        for _ in range(5):
            clock.advance(minutes=5)
            await _beat(sessionmaker, clock, "slow-worker")
            assert await _settle(sessionmaker, clock) == 0
        clock.advance(minutes=6)
        await _beat(sessionmaker, clock, "slow-worker")
        assert await _settle(sessionmaker, clock) == 1


async def _claim_by(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, worker_id: str
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Message).values(
                status="sending", claimed_at=clock.now(), claimed_by=worker_id, attempts=1
            )
        )
    await _beat(sessionmaker, clock, worker_id)


async def _beat(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, worker_id: str
) -> None:
    status = WorkerStatus(
        worker_id=worker_id,
        version="test",
        host="test",
        pid=1,
        mode="test",
        sweep_interval_seconds=20,
        started_at=clock.now(),
        last_beat_at=clock.now(),
    )
    async with sessionmaker.begin() as session:
        await session.merge(status)


async def _settle(sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock) -> int:
    async with sessionmaker.begin() as session:
        return await settle_abandoned_sends(
            session,
            now=clock.now(),
            grace=timedelta(seconds=30),
            worker_dead_after=timedelta(seconds=60),
            longest_send=timedelta(minutes=30),
        )


class TestSandbox:
    async def test_test_numbers_and_delivery_reports(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        numbers = {
            "ok": "+4791234567",
            "permanent": PERMANENT_FAILURE_NUMBER,
            "retryable": RETRYABLE_FAILURE_NUMBER,
            "timeout": TIMEOUT_NUMBER,
            "no_report": NO_REPORT_NUMBER,
        }
        ids = {name: await send(client, clinic, number) for name, number in numbers.items()}
        reports: list[DeliveryReport] = []

        async def sink(batch: list[DeliveryReport]) -> None:
            reports.extend(batch)

        await dispatch(sessionmaker, clock, SandboxProvider(sink, clock.now))
        assert {str(r.message_id) for r in reports} == {ids["ok"]}
        async with sessionmaker.begin() as session:
            await apply_delivery_reports(session, reports)

        states = {name: await load(sessionmaker, ids[name]) for name in ids}
        assert (states["ok"].status, states["ok"].delivery) == ("sent", "delivered")
        assert states["ok"].delivered_at == reports[0].occurred_at
        assert (states["permanent"].status, states["permanent"].failure_reason) == (
            "failed",
            "provider_rejected",
        )
        assert states["retryable"].status == "pending"
        assert (states["timeout"].status, states["timeout"].delivery) == ("sent", "unknown")
        assert (states["no_report"].status, states["no_report"].delivery) == ("sent", "accepted")

    async def test_reports_are_order_safe_and_idempotent(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567")
        await dispatch(sessionmaker, clock, RecordingProvider())
        delivered = DeliveryReport(uuid.UUID(message_id), DeliveryState.DELIVERED, clock.now())
        late_accepted = DeliveryReport(uuid.UUID(message_id), DeliveryState.ACCEPTED, clock.now())
        for batch in ([delivered], [late_accepted], [delivered]):
            async with sessionmaker.begin() as session:
                await apply_delivery_reports(session, batch)
        message = await load(sessionmaker, message_id)
        assert message.delivery == "delivered"

    async def test_a_report_before_the_send_is_recorded_is_kept(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await send(client, clinic, "+4791234567")

        class FastReportingProvider(RecordingProvider):
            async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
                report = DeliveryReport(uuid.UUID(message_id), DeliveryState.DELIVERED, clock.now())
                async with sessionmaker.begin() as session:
                    await apply_delivery_reports(session, [report])
                return await super().send_batch(messages)

        await dispatch(sessionmaker, clock, FastReportingProvider())
        message = await load(sessionmaker, message_id)
        assert (message.status, message.delivery) == ("sent", "delivered")


async def test_clinic_settings_rows_exist_for_dispatch(
    clinic: ClinicAccess, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        rows = (await session.execute(select(ClinicSettings))).scalars().all()
    assert [row.clinic_id for row in rows] == [clinic.id]


class TestRecording:
    async def test_a_message_the_sweep_settled_meanwhile_is_announced_once(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        subscribed = await client.post(
            "/v1/event-subscriptions",
            headers=clinic.headers,
            json={"url": "http://127.0.0.1:9/pms", "event_types": ["message.status_changed"]},
        )
        assert subscribed.status_code == 201, subscribed.text
        message_id = await send(client, clinic, "+4791234567")

        class SlowProvider(RecordingProvider):
            async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
                clock.advance(minutes=2)  # this worker looks dead: the sweep settles it
                assert await _settle(sessionmaker, clock) == 1
                return await super().send_batch(messages)

        await dispatch(sessionmaker, clock, SlowProvider())

        async with sessionmaker() as session:
            events = (await session.execute(select(EventDelivery))).scalars().all()
        assert [event.data["message_id"] for event in events] == [message_id]
        assert events[0].data["delivery"] == "unknown"

    async def test_a_database_error_while_recording_is_retried(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """asyncpg reports a deadlock or a dropped connection as a plain DBAPIError."""
        message_id = await send(client, clinic, "+4791234567")
        real = record_module.record_message_status_events
        calls: list[int] = []

        async def deadlock_once(*args: Any, **kwargs: Any) -> int:
            calls.append(1)
            if len(calls) == 1:
                raise DBAPIError("INSERT INTO event_delivery", {}, Exception("deadlock detected"))
            return await real(*args, **kwargs)

        monkeypatch.setattr(record_module, "record_message_status_events", deadlock_once)
        stats = await dispatch(sessionmaker, clock, RecordingProvider())

        assert (stats.accepted, len(calls)) == (1, 2)
        message = await load(sessionmaker, message_id)
        assert (message.status, message.provider_message_id) == ("sent", f"p-{message_id}")
