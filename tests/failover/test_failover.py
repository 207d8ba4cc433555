"""Failover from LINK Mobility to Sinch: only when LINK provably took nothing, never after
an unknown outcome; the circuit opens after N such failures and probes when half-open."""

import json
from datetime import timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.deliveries import tasks as delivery_tasks
from app.failover.circuit import CircuitState, state_at
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess
from tests.failover.conftest import Providers, circuit, dispatch, load, send


async def test_a_refused_connection_moves_every_message_to_the_secondary_once(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    providers.link_down()
    ids = [await send(client, failover_clinic, f"+4791234{i:03d}") for i in range(3)]
    stats = await dispatch(sessionmaker, clock, factory)
    assert (stats.accepted, stats.retried, stats.failed) == (3, 0, 0)
    assert providers.link_calls == 1
    sent_to_sinch = [json.loads(call.request.content) for call in providers.sinch.calls]
    assert sorted(body["client_reference"] for body in sent_to_sinch) == sorted(ids)
    for message_id in ids:
        message = await load(sessionmaker, message_id)
        assert (message.status, message.delivery, message.provider) == ("sent", "accepted", "sinch")
        assert message.provider_message_id == f"01SINCH{message_id[:8]}"
        assert message.attempts == 1
    assert (await dispatch(sessionmaker, clock, factory)).claimed == 0
    assert providers.sinch.call_count == 3


async def test_a_429_moves_the_message(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    providers.link_send.respond(429, json={"description": "Too many requests"})
    message_id = await send(client, failover_clinic, "+4791234567")
    assert (await dispatch(sessionmaker, clock, factory)).accepted == 1
    assert (await load(sessionmaker, message_id)).provider == "sinch"
    assert providers.sinch.call_count == 1


@pytest.mark.parametrize(
    "answer",
    [httpx.ReadTimeout("no answer"), httpx.Response(500, json={"errorCode": 106000})],
    ids=["timeout-after-sending", "server-error"],
)
async def test_an_unknown_outcome_never_moves(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    answer: Exception | httpx.Response,
) -> None:
    providers.link_send.mock(side_effect=[answer])
    message_id = await send(client, failover_clinic, "+4791234567")
    assert (await dispatch(sessionmaker, clock, factory)).unknown == 1
    message = await load(sessionmaker, message_id)
    assert (message.status, message.delivery, message.provider) == (
        "sent",
        "unknown",
        "linkmobility",
    )
    assert providers.sinch.call_count == 0


async def test_a_permanent_refusal_is_not_moved(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    providers.link_send.respond(
        401, json={"errorCode": 106100, "description": "Invalid authentication"}
    )
    message_id = await send(client, failover_clinic, "+4791234567")
    assert (await dispatch(sessionmaker, clock, factory)).failed == 1
    message = await load(sessionmaker, message_id)
    assert (message.status, message.failure_reason) == ("failed", "provider_rejected")
    assert providers.sinch.call_count == 0


async def test_when_the_secondary_refuses_too_the_message_waits_for_a_retry(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    providers.link_down()
    providers.sinch.respond(503, json={"code": "unavailable", "text": "Service unavailable"})
    message_id = await send(client, failover_clinic, "+4791234567")
    assert (await dispatch(sessionmaker, clock, factory)).retried == 1
    message = await load(sessionmaker, message_id)
    assert message.status == "pending"
    assert message.next_attempt_at > clock.now()
    assert "Sinch" in (message.failure_detail or "")
    assert (providers.link_calls, providers.sinch.call_count) == (1, 1)


async def test_the_circuit_opens_after_n_failures_and_the_primary_is_not_asked(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    providers.link_down()
    await send(client, failover_clinic, "+4791234561")
    await dispatch(sessionmaker, clock, factory)
    first = await circuit(sessionmaker, failover_clinic, "linkmobility")
    assert first is not None
    assert first.consecutive_failures == 1
    assert state_at(first.open_until, clock.now()) is CircuitState.CLOSED
    assert "could not connect" in (first.last_error or "")

    await send(client, failover_clinic, "+4791234562")
    await dispatch(sessionmaker, clock, factory)
    opened = await circuit(sessionmaker, failover_clinic, "linkmobility")
    assert opened is not None
    assert opened.open_until == clock.now() + timedelta(seconds=60)
    assert providers.link_calls == 2

    later = await send(client, failover_clinic, "+4791234563")
    assert (await dispatch(sessionmaker, clock, factory)).accepted == 1
    assert providers.link_calls == 2  # open: not asked
    assert (await load(sessionmaker, later)).provider == "sinch"
    assert providers.sinch.call_count == 3


async def _open_the_circuit(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    providers.link_down()
    for i in range(2):
        await send(client, clinic, f"+479100000{i}")
    await dispatch(sessionmaker, clock, factory)
    opened = await circuit(sessionmaker, clinic, "linkmobility")
    assert opened is not None
    assert state_at(opened.open_until, clock.now()) is CircuitState.OPEN
    clock.advance(seconds=61)


async def test_half_open_one_message_probes_and_success_closes_the_circuit(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await _open_the_circuit(client, failover_clinic, providers, factory, sessionmaker, clock)
    providers.link_up()
    ids = [await send(client, failover_clinic, f"+4791234{i:03d}") for i in range(3)]
    sinch_before = providers.sinch.call_count
    assert (await dispatch(sessionmaker, clock, factory)).accepted == 3
    assert providers.link_send.call_count == 1  # the probe, alone
    assert (
        len(json.loads(providers.link_batch.calls.last.request.content)["sendRequestMessages"]) == 2
    )
    assert providers.sinch.call_count == sinch_before
    assert {(await load(sessionmaker, i)).provider for i in ids} == {"linkmobility"}
    closed = await circuit(sessionmaker, failover_clinic, "linkmobility")
    assert closed is not None
    assert (closed.consecutive_failures, closed.open_until) == (0, None)


async def test_half_open_a_failed_probe_reopens_and_the_rest_go_to_the_secondary(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await _open_the_circuit(client, failover_clinic, providers, factory, sessionmaker, clock)
    link_before, sinch_before = providers.link_calls, providers.sinch.call_count
    ids = [await send(client, failover_clinic, f"+4791234{i:03d}") for i in range(3)]
    assert (await dispatch(sessionmaker, clock, factory)).accepted == 3
    assert providers.link_calls == link_before + 1
    assert providers.sinch.call_count == sinch_before + 3
    assert {(await load(sessionmaker, i)).provider for i in ids} == {"sinch"}
    reopened = await circuit(sessionmaker, failover_clinic, "linkmobility")
    assert reopened is not None
    assert reopened.open_until == clock.now() + timedelta(seconds=60)


async def test_reports_from_either_provider_are_applied_to_the_messages_each_took(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    providers: Providers,
    factory: ProviderFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    redis: ArqRedis,
) -> None:
    providers.link_up()
    by_link = await send(client, failover_clinic, "+4791234561")
    await dispatch(sessionmaker, clock, factory)
    providers.link_down()
    by_sinch = await send(client, failover_clinic, "+4791234562")
    await dispatch(sessionmaker, clock, factory)
    settings = (await client.get("/v1/settings", headers=failover_clinic.headers)).json()
    link_url = settings["webhook_urls"]["delivery"].removeprefix("https://sms.example.test")
    sinch_url = settings["secondary_webhook_urls"]["delivery"].removeprefix(
        "https://sms.example.test"
    )
    link_report = {
        "refId": by_link,
        "id": "link-1",
        "operator": "no.telenor",
        "sentTimestamp": "2026-11-30T10:00:01Z",
        "timestamp": "2026-11-30T10:00:03Z",
        "resultCode": 1001,
        "operatorResultCode": "2",
        "segments": 1,
        "gateCustomParameters": {},
        "customParameters": {},
    }
    sinch_report = {
        "type": "recipient_delivery_report_sms",
        "batch_id": f"01SINCH{by_sinch[:8]}",
        "recipient": "4791234562",
        "code": 0,
        "status": "Delivered",
        "at": "2026-11-30T10:00:04.000Z",
        "client_reference": by_sinch,
    }
    # LINK's webhook cannot speak for the message Sinch took.
    forged = {**link_report, "refId": by_sinch, "id": "link-2", "resultCode": 1006}
    for url, body in ((link_url, link_report), (sinch_url, sinch_report), (link_url, forged)):
        assert (await client.post(url, json=body)).status_code == 200
    clock.advance(seconds=2)
    ctx = {"sessionmaker": sessionmaker, "clock": clock, "redis": redis}
    applied = await delivery_tasks.apply_stored(ctx)
    assert (applied["applied"], applied["unknown_message"]) == (2, 1)
    for message_id in (by_link, by_sinch):
        assert (await load(sessionmaker, message_id)).delivery == "delivered"
