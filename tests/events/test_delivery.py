"""The worker posting events: signed, one attempt row per POST, back-off with jitter on
network errors, 5xx and 429 only, and subscriptions disabled when they keep failing."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
import respx
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.events import tasks
from app.events.delivery import DISABLE_AFTER_FAILED_EVENTS, retry_delay
from app.events.models import EventDelivery, EventType
from app.events.service import record_event
from app.events.signing import generate_secret
from app.events.targets import check_public_target
from tests.conftest import ClinicAccess
from tests.events.test_subscriptions_api import HOOK, subscribe
from tests.events.test_targets import resolving_to
from tests.support.standard_webhooks import signed_with
from tests.test_metrics import sample, scrape


async def queued(redis: ArqRedis) -> list[tuple[str, str]]:
    """The functions and ids of the jobs waiting in Redis."""
    return sorted((job.function, job.job_id) for job in await redis.queued_jobs())


@pytest.fixture
async def ctx(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, redis: ArqRedis
) -> AsyncIterator[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        yield {
            "sessionmaker": sessionmaker,
            "clock": clock,
            "http": http,
            "redis": redis,
            "random": lambda: 0.5,  # the middle of the jitter: the plain schedule
        }


@pytest.fixture
def hook() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


async def emit(
    sessionmaker: async_sessionmaker[AsyncSession],
    clinic: ClinicAccess,
    clock: FixedClock,
    count: int = 1,
) -> None:
    async with sessionmaker.begin() as session:
        for number in range(count):
            await record_event(
                session,
                clinic_id=clinic.id,
                event_type=EventType.REPLY_RECEIVED,
                data={"reply_id": f"r{number}", "text": "Hei"},
                now=clock.now(),
            )


async def deliveries(sessionmaker: async_sessionmaker[AsyncSession]) -> list[EventDelivery]:
    async with sessionmaker() as session:
        rows = await session.execute(select(EventDelivery))
        return list(rows.scalars())


def verify(secret: str, request: httpx.Request) -> bool:
    return signed_with(secret, request.headers, request.content)


class TestPosting:
    async def test_a_signed_post_that_verifies(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        route = hook.post(HOOK).respond(204)
        subscription = await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)

        result = await tasks.deliver(ctx)

        assert result["delivered"] == 1
        request = route.calls.last.request
        assert verify(subscription["secret"], request)
        assert not verify(generate_secret(), request)
        assert request.headers["Webhook-Timestamp"] == str(int(clock.now().timestamp()))
        assert request.headers["Content-Type"] == "application/json"
        body = json.loads(request.content)
        assert body["id"] == request.headers["Webhook-Id"]
        assert body["type"] == "reply.received"
        assert body["created_at"] == "2026-11-30T10:00:00Z"
        assert body["data"] == {"reply_id": "r0", "text": "Hei"}
        [delivery] = await deliveries(sessionmaker)
        assert (delivery.status, delivery.attempts, delivery.delivered_at) == (
            "delivered",
            1,
            clock.now(),
        )
        assert (await tasks.deliver(ctx))["claimed"] == 0

    async def test_every_subscription_gets_its_own_signature(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        first = hook.post(HOOK).respond(200)
        second = hook.post("https://backup.example.test/").respond(200)
        one = await subscribe(client, clinic, event_types=["reply.received"])
        two = await subscribe(
            client, clinic, url="https://backup.example.test/", event_types=["reply.received"]
        )
        await emit(sessionmaker, clinic, clock)
        await tasks.deliver(ctx)
        assert verify(one["secret"], first.calls.last.request)
        assert verify(two["secret"], second.calls.last.request)
        ids = {first.calls.last.request.headers["Webhook-Id"]}
        assert ids == {second.calls.last.request.headers["Webhook-Id"]}


RETRIED = [
    pytest.param(httpx.Response(500), id="500"),
    pytest.param(httpx.Response(502), id="502"),
    pytest.param(httpx.Response(503), id="503"),
    pytest.param(httpx.Response(429), id="429"),
    pytest.param(httpx.ConnectError("refused"), id="connect-error"),
    pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
]
NOT_RETRIED = [
    pytest.param(httpx.Response(400), id="400"),
    pytest.param(httpx.Response(401), id="401"),
    pytest.param(httpx.Response(404), id="404"),
    pytest.param(httpx.Response(410), id="410"),
    pytest.param(httpx.Response(301, headers={"Location": "https://x.test/"}), id="301"),
]


class TestRetries:
    @pytest.mark.parametrize("answer", RETRIED)
    async def test_network_errors_5xx_and_429_are_retried(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
        answer: httpx.Response | Exception,
    ) -> None:
        hook.post(HOOK).mock(side_effect=[answer])
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)

        result = await tasks.deliver(ctx)

        assert (result["retrying"], result["failed"]) == (1, 0)
        [delivery] = await deliveries(sessionmaker)
        assert delivery.status == "pending"
        assert delivery.next_attempt_at == clock.now() + timedelta(seconds=10)
        assert delivery.last_error is not None
        assert await queued(ctx["redis"]) == [
            ("events.deliver", f"events:{int(clock.now().timestamp()) + 10}")
        ]

    async def test_a_host_resolving_into_a_private_network_gets_no_post(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        route = hook.post(HOOK).respond(204)
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        resolver = resolving_to("10.0.0.7")  # e.g. DNS changed after the subscription
        ctx["check_event_target"] = partial(check_public_target, resolver=resolver)

        result = await tasks.deliver(ctx)

        assert not route.called
        assert (result["delivered"], result["retrying"]) == (0, 1)
        [delivery] = await deliveries(sessionmaker)
        assert delivery.last_error is not None
        assert "private address (10.0.0.7)" in delivery.last_error

    async def test_the_post_goes_to_the_address_that_was_checked(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        """DNS rebinding: a name that resolves to a public address for the check and to a
        private one a moment later never gets the POST by name."""
        by_name = hook.post(HOOK).respond(204)
        checked = httpx.URL(HOOK).copy_with(host="93.184.216.34")
        pinned = hook.post(str(checked)).respond(204)
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        resolver = resolving_to("93.184.216.34")
        ctx["check_event_target"] = partial(check_public_target, resolver=resolver)

        result = await tasks.deliver(ctx)

        assert result["delivered"] == 1
        assert not by_name.called
        [request] = [call.request for call in pinned.calls]
        assert request.headers["Host"] == httpx.URL(HOOK).netloc.decode()
        assert request.extensions["sni_hostname"] == httpx.URL(HOOK).host

    async def test_a_target_check_that_breaks_costs_one_attempt_not_the_batch(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock, count=3)

        async def broken(url: str) -> str | None:
            raise UnicodeError("label too long")

        ctx["check_event_target"] = broken
        result = await tasks.deliver(ctx)

        assert (result["claimed"], result["retrying"]) == (3, 3)
        assert all(
            "could not be checked" in (delivery.last_error or "")
            for delivery in await deliveries(sessionmaker)
        )

    @pytest.mark.parametrize("answer", NOT_RETRIED)
    async def test_other_answers_fail_at_once(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
        answer: httpx.Response,
    ) -> None:
        hook.post(HOOK).mock(side_effect=[answer])
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)

        result = await tasks.deliver(ctx)

        assert (result["retrying"], result["failed"]) == (0, 1)
        [delivery] = await deliveries(sessionmaker)
        assert (delivery.status, delivery.failed_at) == ("failed", clock.now())
        assert delivery.last_status_code == answer.status_code

    async def test_the_back_off_schedule(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        route = hook.post(HOOK).respond(503)
        await subscribe(client, clinic, event_types=["reply.received"])
        created = clock.now()
        await emit(sessionmaker, clinic, clock)
        waits: list[timedelta] = []
        while True:
            await tasks.deliver(ctx)
            [delivery] = await deliveries(sessionmaker)
            if delivery.status != "pending":
                break
            waits.append(delivery.next_attempt_at - clock.now())
            clock.set(delivery.next_attempt_at - timedelta(seconds=1))
            assert (await tasks.deliver(ctx))["claimed"] == 0  # not due yet
            clock.set(delivery.next_attempt_at)
        doubling = [timedelta(seconds=10 * 2**n) for n in range(12)]  # up to 5 h 41 min
        assert waits == [*doubling, timedelta(hours=6), timedelta(hours=6)]
        assert delivery.status == "failed"
        # The next try would come 29 h after the event: given up within the day.
        assert timedelta(hours=23) < clock.now() - created <= timedelta(hours=24)
        assert len(route.calls) == delivery.attempts == len(waits) + 1

    def test_jitter_spreads_around_the_schedule(self) -> None:
        assert retry_delay(3, lambda: 0.0) == timedelta(seconds=32)
        assert retry_delay(3, lambda: 0.5) == timedelta(seconds=40)
        assert retry_delay(3, lambda: 1.0) == timedelta(seconds=48)
        assert retry_delay(40, lambda: 0.5) == timedelta(hours=6)

    async def test_attempts_are_listed(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        hook.post(HOOK).mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(500), httpx.Response(200)]
        )
        subscription = await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        for _ in range(3):
            await tasks.deliver(ctx)
            [delivery] = await deliveries(sessionmaker)
            clock.set(delivery.next_attempt_at)
        response = await client.get(
            "/v1/event-deliveries",
            headers=clinic.headers,
            params={"subscription_id": subscription["id"], "event_type": "reply.received"},
        )
        [listed] = response.json()["data"]
        assert listed["status"] == "delivered"
        assert listed["next_attempt_at"] is None
        attempts = listed["attempts"]
        assert [a["attempt"] for a in attempts] == [1, 2, 3]
        assert [a["status_code"] for a in attempts] == [None, 500, 200]
        assert [a["succeeded"] for a in attempts] == [False, False, True]
        assert attempts[0]["error"].startswith("ConnectError")
        assert attempts[1]["error"] == "HTTP 500"
        assert all(a["duration_ms"] >= 0 for a in attempts)
        theirs = await client.get("/v1/event-deliveries", headers=other_clinic.headers)
        assert theirs.json()["data"] == []

    async def test_the_delivery_list_pages_and_filters(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        await subscribe(client, clinic)
        for _ in range(3):
            await emit(sessionmaker, clinic, clock)
            clock.advance(seconds=1)
        first = (
            await client.get("/v1/event-deliveries", headers=clinic.headers, params={"limit": 2})
        ).json()
        second = (
            await client.get(
                "/v1/event-deliveries",
                headers=clinic.headers,
                params={"limit": 2, "cursor": first["next_cursor"]},
            )
        ).json()
        assert [len(first["data"]), len(second["data"]), second["next_cursor"]] == [2, 1, None]
        none = await client.get(
            "/v1/event-deliveries",
            headers=clinic.headers,
            params={"event_type": "patient.opted_out"},
        )
        assert none.json()["data"] == []


class TestDisabling:
    async def test_after_too_many_failed_events_in_a_row(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        route = hook.post(HOOK).respond(410)
        subscription = await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock, count=DISABLE_AFTER_FAILED_EVENTS - 1)
        await tasks.deliver(ctx)
        shown = await client.get(
            f"/v1/event-subscriptions/{subscription['id']}", headers=clinic.headers
        )
        assert (shown.json()["active"], shown.json()["consecutive_failures"]) == (True, 49)

        await emit(sessionmaker, clinic, clock, count=2)
        await tasks.deliver(ctx)

        shown = await client.get(
            f"/v1/event-subscriptions/{subscription['id']}", headers=clinic.headers
        )
        body = shown.json()
        assert body["active"] is False
        assert body["disabled_at"] == "2026-11-30T10:00:00Z"
        assert "50 events in a row" in body["disabled_reason"]
        calls = len(route.calls)
        await emit(sessionmaker, clinic, clock)
        assert len(await deliveries(sessionmaker)) == DISABLE_AFTER_FAILED_EVENTS + 1
        await tasks.deliver(ctx)
        assert len(route.calls) == calls

    async def test_a_success_resets_the_count(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        hook.post(HOOK).mock(side_effect=[httpx.Response(400), httpx.Response(200)])
        subscription = await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        await tasks.deliver(ctx)
        await emit(sessionmaker, clinic, clock)
        await tasks.deliver(ctx)
        shown = await client.get(
            f"/v1/event-subscriptions/{subscription['id']}", headers=clinic.headers
        )
        assert shown.json()["consecutive_failures"] == 0

    async def test_after_a_day_of_failures(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        hook.post(HOOK).respond(500)
        subscription = await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        await tasks.deliver(ctx)
        clock.advance(hours=23)
        await emit(sessionmaker, clinic, clock)
        await tasks.deliver(ctx)
        assert (await client.get("/v1/event-subscriptions", headers=clinic.headers)).json()["data"][
            0
        ]["active"]
        clock.advance(hours=1)
        await emit(sessionmaker, clinic, clock)
        await tasks.deliver(ctx)
        [shown] = (await client.get("/v1/event-subscriptions", headers=clinic.headers)).json()[
            "data"
        ]
        assert shown["id"] == subscription["id"]
        assert shown["active"] is False
        assert "24 hours" in shown["disabled_reason"]
        assert {d.status for d in await deliveries(sessionmaker)} == {"failed"}


class TestSweep:
    async def test_due_events_whose_job_was_lost_are_picked_up(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
    ) -> None:
        assert await tasks.sweep(ctx) == {"due": 0}
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        assert await tasks.sweep(ctx) == {"due": 1}
        assert await queued(ctx["redis"]) == [
            ("events.deliver", f"events:{int(clock.now().timestamp())}")
        ]

    async def test_a_claim_left_by_a_dead_worker_lapses(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
        ctx: dict[str, Any],
        hook: respx.MockRouter,
    ) -> None:
        from app.events.delivery import claim_due

        route = hook.post(HOOK).respond(200)
        await subscribe(client, clinic, event_types=["reply.received"])
        await emit(sessionmaker, clinic, clock)
        async with sessionmaker.begin() as session:
            assert len(await claim_due(session, now=clock.now(), limit=10)) == 1
        assert (await tasks.deliver(ctx))["claimed"] == 0
        clock.advance(seconds=60)
        assert (await tasks.deliver(ctx))["delivered"] == 1
        assert len(route.calls) == 1
        [delivery] = await deliveries(sessionmaker)
        assert delivery.attempts == 2
        assert uuid.UUID(route.calls.last.request.headers["Webhook-Id"]) == delivery.event_id


async def test_a_subscription_deleted_while_posting_loses_nothing_else(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    ctx: dict[str, Any],
    hook: respx.MockRouter,
) -> None:
    gone = await subscribe(
        client, clinic, url="https://gone.example.test/", event_types=["reply.received"]
    )
    await subscribe(client, clinic, event_types=["reply.received"])
    await emit(sessionmaker, clinic, clock)

    async def delete_then_answer(request: httpx.Request) -> httpx.Response:
        await client.delete(f"/v1/event-subscriptions/{gone['id']}", headers=clinic.headers)
        return httpx.Response(200)

    hook.post("https://gone.example.test/").mock(side_effect=delete_then_answer)
    hook.post(HOOK).respond(200)
    result = await tasks.deliver(ctx)
    assert result["delivered"] == 1
    [delivery] = await deliveries(sessionmaker)
    assert delivery.status == "delivered"


async def test_deliveries_are_counted_on_metrics_and_pending_ones_shown(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    ctx: dict[str, Any],
    hook: respx.MockRouter,
) -> None:
    retrying = sample("clinic_sms_event_deliveries_total", result="retrying")
    delivered = sample("clinic_sms_event_deliveries_total", result="delivered")
    route = hook.post(HOOK).respond(503)
    await subscribe(client, clinic, event_types=["reply.received"])
    await emit(sessionmaker, clinic, clock, count=2)
    assert (await scrape(client))["clinic_sms_event_deliveries_pending"] == 2

    await tasks.deliver(ctx)
    assert sample("clinic_sms_event_deliveries_total", result="retrying") == retrying + 2
    route.respond(204)
    clock.advance(days=1)
    await tasks.deliver(ctx)
    assert sample("clinic_sms_event_deliveries_total", result="delivered") == delivered + 2
    assert (await scrape(client))["clinic_sms_event_deliveries_pending"] == 0
