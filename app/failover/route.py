"""Sending a clinic's messages with failover to its secondary provider.

A message goes to the secondary only when the primary provably took nothing: its own
answer proved it (`proves_not_taken`), or its circuit is open so it was not asked at all.
An unknown outcome never moves: at most once holds across providers. Before the secondary
is called, the messages are marked as its own, so a report it sends at once is applied.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.failover.circuit import (
    CircuitPolicy,
    CircuitState,
    health_of,
    proves_not_taken,
    state_at,
)
from app.failover.store import CircuitKey, ProviderHealth, circuits_of, claim_probe
from app.messages.models import MessageStatus, message_table
from app.messages.record import ClaimedMessage
from app.providers.base import NOT_TRIED, Accepted, SendResult, SmsProvider

logger = logging.getLogger(__name__)

_message = message_table.c


class Path(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"  # the primary's circuit is open
    PROBE = "probe"  # half-open, and this worker won the probe


SendThrough = Callable[[SmsProvider, Sequence[ClaimedMessage]], Awaitable[list[SendResult]]]


@dataclass
class ClinicSend:
    """Per message, in order: its result and the provider that gave it."""

    results: list[SendResult]
    sent_by: list[str]
    by_provider: dict[str, list[SendResult]] = field(default_factory=dict)

    def health(self, clinic_id: uuid.UUID) -> list[ProviderHealth]:
        return [
            ProviderHealth(clinic_id, provider, health)
            for provider, results in self.by_provider.items()
            if (health := health_of(results)) is not None
        ]


async def choose_paths(
    session: AsyncSession,
    primaries: Mapping[uuid.UUID, str],
    *,
    now: datetime,
    policy: CircuitPolicy,
) -> dict[uuid.UUID, Path]:
    """For clinics with a secondary: primary, secondary, or (one worker) the probe."""
    keys: list[CircuitKey] = list(primaries.items())
    circuits = await circuits_of(session, keys)
    paths = {}
    for key in keys:
        circuit = circuits.get(key)
        state = state_at(circuit.open_until if circuit else None, now)
        if state is CircuitState.CLOSED:
            paths[key[0]] = Path.PRIMARY
        elif state is CircuitState.HALF_OPEN and await claim_probe(
            session, key, now=now, policy=policy
        ):
            paths[key[0]] = Path.PROBE
        else:
            paths[key[0]] = Path.SECONDARY
    return paths


class Failover:
    """One clinic's send: the primary (unless its circuit is open), then the secondary for
    whatever the primary provably did not take."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        send_through: SendThrough,
        primary: SmsProvider,
        secondary: SmsProvider | None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._send_through = send_through
        self._primary = primary
        self._secondary = secondary

    @property
    def has_secondary(self) -> bool:
        return self._secondary is not None

    async def send(self, messages: Sequence[ClaimedMessage], path: Path) -> ClinicSend:
        sent = ClinicSend([NOT_TRIED] * len(messages), [self._primary.name] * len(messages))
        waiting = list(range(len(messages)))
        if self._secondary is None:
            await self._through(self._primary, messages, waiting, sent)
            return sent
        moving: list[int] = []
        if path is Path.PROBE:
            probe, waiting = waiting[:1], waiting[1:]
            await self._through(self._primary, messages, probe, sent)
            moving = [index for index in probe if proves_not_taken(sent.results[index])]
            if not isinstance(sent.results[probe[0]], Accepted):
                path = Path.SECONDARY
        if path is Path.SECONDARY:
            moving += waiting
        else:
            await self._through(self._primary, messages, waiting, sent)
            moving += [i for i in waiting if proves_not_taken(sent.results[i])]
        if moving and await self._mark_secondary([messages[i].id for i in moving]):
            await self._through(self._secondary, messages, moving, sent)
        return sent

    async def _through(
        self,
        provider: SmsProvider,
        messages: Sequence[ClaimedMessage],
        indices: Sequence[int],
        sent: ClinicSend,
    ) -> None:
        if not indices:
            return
        results = await self._send_through(provider, [messages[i] for i in indices])
        for index, result in zip(indices, results, strict=True):
            sent.results[index] = result
            sent.sent_by[index] = provider.name
        sent.by_provider.setdefault(provider.name, []).extend(results)

    async def _mark_secondary(self, message_ids: list[uuid.UUID]) -> bool:
        """The secondary's reports may come before the results are recorded. Without this
        mark the failover is skipped: the primary's results (nothing taken) stand."""
        assert self._secondary is not None
        try:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    update(message_table)
                    .where(_message.id.in_(message_ids), _message.status == MessageStatus.SENDING)
                    .values(provider=self._secondary.name)
                )
        except DBAPIError:
            logger.warning("could not hand messages to the secondary provider", exc_info=True)
            return False
        return True
