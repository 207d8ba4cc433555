"""The sandbox provider: sends nothing, accepts at once, reports delivery a moment later.

Its delivery reports are stored in the database like a provider's webhook reports, due
at the time the simulated report arrives, and applied by the same code
(`app.deliveries.reports.apply_stored_reports`): a report survives Redis losing its
wake-up job, since the sweep applies whatever is due.

Test numbers (any clinic, any text):

| number        | what the sandbox does                                              |
|---------------|--------------------------------------------------------------------|
| +4799999901   | refuses the message for good (permanent failure)                  |
| +4799999902   | is unavailable (retryable failure: nothing was accepted)          |
| +4799999903   | times out after the request went out (outcome unknown)            |
| +4799999904   | accepts the message but never sends a delivery report             |
| +4799999905   | accepts, then reports `undelivered` with a reason (error S5)      |
| +4799999906   | accepts, then reports `delivered` after SANDBOX_SLOW_DELIVERY_SECONDS |

Any other number is accepted and reported `delivered` two seconds later. The slow number
shows an appointment's reminder as `awaiting_delivery` (an hour after sending) or
`at_risk` (within four hours of the start) while its report is on the way.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from app.deliveries.service import DeliveryReport
from app.messages.models import DeliveryState
from app.providers.base import Accepted, Failed, FailureKind, OutboundSms, SendResult
from app.providers.capabilities import ANY_TEXT

PERMANENT_FAILURE_NUMBER = "+4799999901"
RETRYABLE_FAILURE_NUMBER = "+4799999902"
TIMEOUT_NUMBER = "+4799999903"
NO_REPORT_NUMBER = "+4799999904"
UNDELIVERED_NUMBER = "+4799999905"
SLOW_DELIVERY_NUMBER = "+4799999906"

UNDELIVERED_DETAIL = "Sandbox: undelivered - unknown subscriber (error S5)"

_SIMULATED_FAILURES: dict[str, Failed] = {
    PERMANENT_FAILURE_NUMBER: Failed(FailureKind.PERMANENT, "sandbox: number refused", "S1"),
    RETRYABLE_FAILURE_NUMBER: Failed(FailureKind.RETRYABLE, "sandbox: provider unavailable", "S2"),
    TIMEOUT_NUMBER: Failed(FailureKind.UNKNOWN_OUTCOME, "sandbox: timed out after sending", "S3"),
}

DELIVERY_DELAY = timedelta(seconds=2)

ReportSink = Callable[[list[DeliveryReport]], Awaitable[None]]


class SandboxProvider:
    name = "sandbox"
    text_capability = ANY_TEXT
    max_batch_size = 1000

    def __init__(
        self,
        report_sink: ReportSink,
        now: Callable[[], datetime],
        slow_delay: timedelta = timedelta(hours=2),
    ) -> None:
        self._report_sink = report_sink
        self._now = now
        self._slow_delay = slow_delay

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        results: list[SendResult] = [
            _SIMULATED_FAILURES.get(message.to) or Accepted(f"sandbox-{message.message_id}")
            for message in messages
        ]
        now = self._now()
        reports = [
            self._report(message, now)
            for message, result in zip(messages, results, strict=True)
            if isinstance(result, Accepted) and message.to != NO_REPORT_NUMBER
        ]
        if reports:
            await self._report_sink(reports)
        return results

    def _report(self, message: OutboundSms, now: datetime) -> DeliveryReport:
        message_id = uuid.UUID(message.message_id)
        if message.to == UNDELIVERED_NUMBER:
            return DeliveryReport(
                message_id, DeliveryState.UNDELIVERED, now + DELIVERY_DELAY, UNDELIVERED_DETAIL
            )
        delay = self._slow_delay if message.to == SLOW_DELIVERY_NUMBER else DELIVERY_DELAY
        return DeliveryReport(message_id, DeliveryState.DELIVERED, now + delay)
