"""Run the worker's send loop once, in-process, against a provider that records."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.jobs import PendingJob
from app.messages.dispatch import DispatchStats, dispatch_batch
from app.providers.base import Accepted, OutboundSms, SendResult, SmsProvider


class RecordingProvider:
    """Accepts everything (or answers per number) and remembers each batch it was given."""

    def __init__(
        self,
        name: str = "recording",
        max_batch_size: int = 1000,
        answers: dict[str, SendResult] | None = None,
    ) -> None:
        self.name = name
        self.max_batch_size = max_batch_size
        self.answers = answers or {}
        self.batches: list[list[OutboundSms]] = []
        self.raise_error = False

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        self.batches.append(list(messages))
        if self.raise_error:
            raise RuntimeError("adapter bug")
        return [self.answers.get(m.to) or Accepted(f"p-{m.message_id}") for m in messages]

    @property
    def sent(self) -> list[OutboundSms]:
        return [message for batch in self.batches for message in batch]

    @property
    def sent_ids(self) -> list[str]:
        return [message.message_id for message in self.sent]


async def _no_jobs(_jobs: list[PendingJob]) -> None:
    return None


async def dispatch_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    provider: SmsProvider,
    limit: int = 1000,
) -> DispatchStats:
    return await dispatch_batch(
        sessionmaker,
        now=clock.now,
        provider_for=lambda _settings, _secret: provider,
        limit=limit,
        after_commit=_no_jobs,
        worker_id="test-worker",
    )
