"""The circuit as pure functions, the probe claim only one worker wins, and the mark that
lets the secondary's earliest report find its message."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clinic_settings.models import ClinicSettings
from app.core.clock import FixedClock
from app.failover.circuit import (
    BatchHealth,
    Circuit,
    CircuitPolicy,
    CircuitState,
    after_batch,
    health_of,
    proves_not_taken,
    state_at,
)
from app.failover.store import ProviderHealth, claim_probe, record_health
from app.messages.models import message_table
from app.providers.base import (
    EXPIRED_BEFORE_SENDING,
    NOT_TRIED,
    PAUSE_BEGAN,
    Accepted,
    Failed,
    FailureKind,
    OutboundSms,
    SendResult,
)
from app.providers.http import OUT_OF_TIME
from app.providers.registry import ProviderFactory
from tests.conftest import ClinicAccess
from tests.failover.conftest import POLICY, circuit, dispatch, send
from tests.support.dispatch import RecordingProvider

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
REFUSED = Failed(FailureKind.RETRYABLE, "LINK Mobility: could not connect")
TIMEOUT = Failed(FailureKind.UNKNOWN_OUTCOME, "LINK Mobility: no answer in time")
BAD_NUMBER = Failed(FailureKind.PERMANENT, "LINK Mobility: number error", "2106")
OK = Accepted("p-1")


@pytest.mark.parametrize(
    ("result", "moves"),
    [
        (REFUSED, True),
        (Failed(FailureKind.RETRYABLE, "rate limited", "20429"), True),
        (TIMEOUT, False),
        (BAD_NUMBER, False),
        (OK, False),
        (PAUSE_BEGAN, False),
        (OUT_OF_TIME, False),
        (NOT_TRIED, False),
        (EXPIRED_BEFORE_SENDING, False),
    ],
)
def test_only_a_provider_refusal_before_acceptance_moves_a_message(
    result: SendResult, moves: bool
) -> None:
    assert proves_not_taken(result) is moves


@pytest.mark.parametrize(
    ("results", "health"),
    [
        ([OK, OK], BatchHealth(True, 0, None)),
        ([REFUSED, REFUSED], BatchHealth(False, 2, REFUSED.reason)),
        ([REFUSED, OK, REFUSED], BatchHealth(True, 1, REFUSED.reason)),
        ([TIMEOUT, BAD_NUMBER], BatchHealth(False, 0, BAD_NUMBER.reason)),
        ([PAUSE_BEGAN, OUT_OF_TIME], None),
    ],
)
def test_what_a_batch_says_about_the_provider(
    results: Sequence[SendResult], health: BatchHealth | None
) -> None:
    assert health_of(results) == health


def test_state_is_closed_open_then_half_open() -> None:
    assert state_at(None, NOW) is CircuitState.CLOSED
    assert state_at(NOW + timedelta(seconds=1), NOW) is CircuitState.OPEN
    assert state_at(NOW, NOW) is CircuitState.HALF_OPEN


def test_n_failures_in_a_row_open_and_a_success_closes() -> None:
    policy = CircuitPolicy(failure_threshold=3, probe_after=timedelta(seconds=60))
    two = after_batch(Circuit(), BatchHealth(False, 2, "refused"), policy, NOW)
    assert (two.consecutive_failures, two.open_until) == (2, None)
    three = after_batch(two, BatchHealth(False, 1, "refused"), policy, NOW)
    assert (three.open_until, three.opened_at) == (NOW + timedelta(seconds=60), NOW)
    assert (three.last_error, three.last_error_at) == ("refused", NOW)
    later = NOW + timedelta(seconds=30)
    still = after_batch(three, BatchHealth(False, 1, "refused"), policy, later)
    assert (still.open_until, still.opened_at) == (three.open_until, NOW)
    closed = after_batch(still, BatchHealth(True, 0, None), policy, later)
    assert (closed.consecutive_failures, closed.open_until, closed.opened_at) == (0, None, None)
    assert closed.last_error == "refused"  # kept to show


def test_a_failure_after_a_success_starts_counting_again() -> None:
    policy = CircuitPolicy(failure_threshold=2)
    one = after_batch(Circuit(consecutive_failures=1), BatchHealth(True, 1, "429"), policy, NOW)
    assert (one.consecutive_failures, one.open_until) == (1, None)


async def test_only_one_worker_wins_the_half_open_probe(
    clinic: ClinicAccess, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = (clinic.id, "linkmobility")
    async with sessionmaker() as session, session.begin():
        health = BatchHealth(False, POLICY.failure_threshold, "refused")
        await record_health(session, [ProviderHealth(*key, health)], policy=POLICY, now=NOW)
    half_open = NOW + POLICY.probe_after
    async with sessionmaker() as session, session.begin():
        assert await claim_probe(session, key, now=half_open, policy=POLICY) is True
    async with sessionmaker() as session, session.begin():
        assert await claim_probe(session, key, now=half_open, policy=POLICY) is False


class MarkedSecondary(RecordingProvider):
    """Reads, while it is being asked, which provider each message is recorded with."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(name="sinch")
        self._sessionmaker = sessionmaker
        self.seen: list[str | None] = []

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(message_table.c.provider).where(
                    message_table.c.id.in_([uuid.UUID(m.message_id) for m in messages])
                )
            )
            self.seen += list(rows.scalars())
        return await super().send_batch(messages)


async def test_messages_are_the_secondarys_before_it_is_asked(
    client: httpx.AsyncClient,
    failover_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    factory: ProviderFactory,
) -> None:
    """A report the secondary sends at once must find the message as its own."""
    await send(client, failover_clinic, "+4791234567")
    primary = RecordingProvider(name="linkmobility", answers={"+4791234567": REFUSED})
    secondary = MarkedSecondary(sessionmaker)
    factory.build = lambda _settings, _secret: primary  # type: ignore[method-assign]
    factory.build_secondary = lambda _settings, _secret: secondary  # type: ignore[method-assign]
    assert (await dispatch(sessionmaker, clock, factory)).accepted == 1
    assert secondary.seen == ["sinch"]


async def test_a_clinic_without_a_secondary_keeps_retrying_its_provider(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    factory: ProviderFactory,
) -> None:
    await send(client, clinic, "+4791234567")
    primary = RecordingProvider(name="sandbox", answers={"+4791234567": REFUSED})
    factory.build = lambda _settings, _secret: primary  # type: ignore[method-assign]
    assert (await dispatch(sessionmaker, clock, factory)).retried == 1
    recorded = await circuit(sessionmaker, clinic, "sandbox")
    assert recorded is not None
    assert recorded.consecutive_failures == 1


@pytest.mark.parametrize(
    ("credentials", "built"),
    [({"sinch": {"service_plan_id": "plan-1", "api_token": "t"}}, True), ({"sinch": {}}, False)],
)
async def test_a_secondary_is_built_only_with_all_its_credentials(
    factory: ProviderFactory, credentials: dict[str, dict[str, str]], built: bool
) -> None:
    settings = ClinicSettings(
        provider="linkmobility", secondary_provider="sinch", provider_credentials=credentials
    )
    secondary = factory.build_secondary(settings, "secret")
    assert (secondary is not None and secondary.name == "sinch") is built
    assert factory.build_secondary(ClinicSettings(provider="linkmobility"), "secret") is None
