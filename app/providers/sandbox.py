"""The sandbox provider: sends nothing, accepts at once, reports delivery a moment later.

Its delivery reports go through the same code path as a real provider's webhook reports
(`app.deliveries.service.apply_delivery_reports`), by way of a worker job.

Test numbers (any clinic, any text):

| number        | what the sandbox does                                     |
|---------------|-----------------------------------------------------------|
| +4799999901   | refuses the message for good (permanent failure)         |
| +4799999902   | is unavailable (retryable failure: nothing was accepted) |
| +4799999903   | times out after the request went out (outcome unknown)   |
| +4799999904   | accepts the message but never sends a delivery report    |
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from app.deliveries.service import DeliveryReport
from app.messages.models import DeliveryState
from app.providers.base import Accepted, Failed, FailureKind, OutboundSms, SendResult

PERMANENT_FAILURE_NUMBER = "+4799999901"
RETRYABLE_FAILURE_NUMBER = "+4799999902"
TIMEOUT_NUMBER = "+4799999903"
NO_REPORT_NUMBER = "+4799999904"

_SIMULATED_FAILURES: dict[str, Failed] = {
    PERMANENT_FAILURE_NUMBER: Failed(FailureKind.PERMANENT, "sandbox: number refused", "S1"),
    RETRYABLE_FAILURE_NUMBER: Failed(FailureKind.RETRYABLE, "sandbox: provider unavailable", "S2"),
    TIMEOUT_NUMBER: Failed(FailureKind.UNKNOWN_OUTCOME, "sandbox: timed out after sending", "S3"),
}

DELIVERY_DELAY = timedelta(seconds=2)

ReportSink = Callable[[list[DeliveryReport]], Awaitable[None]]


class SandboxProvider:
    name = "sandbox"
    max_batch_size = 1000

    def __init__(self, report_sink: ReportSink, now: Callable[[], datetime]) -> None:
        self._report_sink = report_sink
        self._now = now

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        results: list[SendResult] = [
            _SIMULATED_FAILURES.get(message.to) or Accepted(f"sandbox-{message.message_id}")
            for message in messages
        ]
        delivered_at = self._now() + DELIVERY_DELAY
        reports = [
            DeliveryReport(uuid.UUID(message.message_id), DeliveryState.DELIVERED, delivered_at)
            for message, result in zip(messages, results, strict=True)
            if isinstance(result, Accepted) and message.to != NO_REPORT_NUMBER
        ]
        if reports:
            await self._report_sink(reports)
        return results
