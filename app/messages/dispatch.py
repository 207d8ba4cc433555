"""The send loop: claim due messages in batches, hand them to providers, record results.

At most once (DESIGN §10): a message is committed as `sending` before any provider call,
no transaction is open during the call, and only failures that prove nothing was accepted
put it back to `pending`. A timeout after the request went out, or a worker that died
with the message in `sending`, ends as sent with delivery `unknown`, never a second send.
A clinic with a secondary provider has it take what the primary provably did not
(`app.failover`); each message records the provider that took it.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import send_window_rules
from app.core.jobs import PendingJob, take_pending_jobs
from app.failover.circuit import CircuitPolicy
from app.failover.route import Failover, Path, SendThrough, choose_paths
from app.messages.claim import claim_due, webhook_secrets
from app.messages.recipients import CONSENT_REQUIRED_TYPES
from app.messages.record import ClaimedMessage, outcome_of, record_with_retry
from app.messages.window import stretch_end
from app.providers.base import (
    Failed,
    FailureKind,
    OutboundSms,
    SendResult,
    SmsProvider,
    too_late,
)
from app.providers.registry import sender_for

logger = logging.getLogger(__name__)

ADAPTER_FAILURE = Failed(FailureKind.UNKNOWN_OUTCOME, "provider adapter error")


@dataclass
class DispatchStats:
    claimed: int = 0
    accepted: int = 0
    unknown: int = 0
    failed: int = 0
    retried: int = 0

    def add(self, other: "DispatchStats") -> None:
        self.claimed += other.claimed
        self.accepted += other.accepted
        self.unknown += other.unknown
        self.failed += other.failed
        self.retried += other.retried


ProviderBuilder = Callable[[ClinicSettings, str], SmsProvider]
"""Builds the adapter for a clinic from its settings and its webhook secret."""
SecondaryBuilder = Callable[[ClinicSettings, str], SmsProvider | None]
"""Likewise for the clinic's secondary provider; None when it has none ready."""


def no_secondary(_settings: ClinicSettings, _webhook_secret: str) -> None:
    return None


def _outbound(
    message: ClaimedMessage, settings: ClinicSettings, pause_begins: datetime
) -> OutboundSms | Failed:
    marketing = message.type in CONSENT_REQUIRED_TYPES
    if marketing and not settings.reply_number:
        return Failed(
            FailureKind.PERMANENT,
            "marketing and offers go only from the reply number; none is configured",
        )
    sender = sender_for(settings, message.allow_reply or marketing)
    if sender is None:
        return Failed(FailureKind.PERMANENT, "no sender name or reply number is configured")
    return OutboundSms(
        message_id=str(message.id),
        to=message.to_number,
        text=message.text,
        sender=sender[0],
        sender_kind=sender[1],
        expires_at=message.expires_at,
        send_by=min(message.expires_at, pause_begins),
    )


async def _send_for_clinic(
    provider: SmsProvider,
    messages: Sequence[ClaimedMessage],
    settings: ClinicSettings,
    now: Callable[[], datetime],
) -> list[SendResult]:
    started = now()
    rules, tz = send_window_rules(settings), ZoneInfo(settings.time_zone)
    pause_begins = stretch_end(started, rules, tz) or started
    prepared = [_outbound(message, settings, pause_begins) for message in messages]
    outbound = [item for item in prepared if isinstance(item, OutboundSms)]
    sent: list[SendResult] = []
    for start in range(0, len(outbound), provider.max_batch_size):
        chunk = outbound[start : start + provider.max_batch_size]
        sent += await _send_chunk(provider, chunk, now())
    answers = iter(sent)
    return [item if isinstance(item, Failed) else next(answers) for item in prepared]


async def _send_chunk(
    provider: SmsProvider, chunk: Sequence[OutboundSms], now: datetime
) -> list[SendResult]:
    """One provider call; messages whose window closed while earlier chunks went are kept back."""
    results: dict[int, SendResult] = {
        index: late for index, sms in enumerate(chunk) if (late := too_late(sms, now))
    }
    live = [sms for index, sms in enumerate(chunk) if index not in results]
    answers: list[SendResult] = []
    if live:
        try:
            answers = await provider.send_batch(live)
        except Exception:
            # The request may have gone out: at most once means never retrying these.
            logger.exception("provider %s raised; outcome unknown", provider.name)
        if len(answers) != len(live):
            answers = [ADAPTER_FAILURE] * len(live)
    remaining = iter(answers)
    return [results.get(index) or next(remaining) for index in range(len(chunk))]


def _through(settings: ClinicSettings, now: Callable[[], datetime]) -> SendThrough:
    async def send(provider: SmsProvider, messages: Sequence[ClaimedMessage]) -> list[SendResult]:
        return await _send_for_clinic(provider, messages, settings, now)

    return send


async def dispatch_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: Callable[[], datetime],
    provider_for: ProviderBuilder,
    limit: int,
    after_commit: Callable[[list[PendingJob]], Awaitable[None]],
    worker_id: str,
    secondary_for: SecondaryBuilder = no_secondary,
    circuit_policy: CircuitPolicy = CircuitPolicy(),
) -> DispatchStats:
    """Claim one batch, send it (failing over where that is safe), record it."""
    async with sessionmaker() as session, session.begin():
        claimed, settings = await claim_due(session, now=now(), limit=limit, worker_id=worker_id)
        by_clinic: dict[uuid.UUID, list[ClaimedMessage]] = defaultdict(list)
        for message in claimed:
            by_clinic[message.clinic_id].append(message)
        secrets = await webhook_secrets(session, set(by_clinic))
        failovers = {
            clinic_id: Failover(
                sessionmaker,
                _through(settings[clinic_id], now),
                provider_for(settings[clinic_id], secrets[clinic_id]),
                secondary_for(settings[clinic_id], secrets[clinic_id]),
            )
            for clinic_id in by_clinic
        }
        primaries = {
            clinic_id: settings[clinic_id].provider
            for clinic_id, failover in failovers.items()
            if failover.has_secondary
        }
        paths = await choose_paths(session, primaries, now=now(), policy=circuit_policy)
        jobs = take_pending_jobs(session)
    await after_commit(jobs)
    stats = DispatchStats(claimed=len(claimed))
    if not claimed:
        return stats
    sends = await asyncio.gather(
        *(
            failovers[clinic_id].send(messages, paths.get(clinic_id, Path.PRIMARY))
            for clinic_id, messages in by_clinic.items()
        )
    )
    finished = now()
    outcomes = {
        clinic_id: outcome_of(messages, sent.results, settings[clinic_id], finished, sent.sent_by)
        for (clinic_id, messages), sent in zip(by_clinic.items(), sends, strict=True)
    }
    health = [
        report
        for clinic_id, sent in zip(by_clinic, sends, strict=True)
        for report in sent.health(clinic_id)
    ]
    jobs = await record_with_retry(
        sessionmaker, outcomes, finished, health=health, policy=circuit_policy
    )
    await after_commit(jobs)
    for outcome in outcomes.values():
        stats.accepted += len(outcome.accepted)
        stats.unknown += len(outcome.unknown)
        stats.failed += len(outcome.failed)
        stats.retried += len(outcome.retry)
    return stats
