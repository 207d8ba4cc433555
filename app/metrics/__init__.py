"""Counters and histograms, and the few hooks that feed them.

With `PROMETHEUS_MULTIPROC_DIR` set (before start), every API and worker process writes
its values to files there and a scrape of any API process sums them all; see the README."""

import time
from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from app.providers.base import Accepted, OutboundSms, SendResult, SmsProvider

HTTP_REQUESTS = Counter(
    "clinic_sms_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "clinic_sms_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
)
PROVIDER_RESULTS = Counter(
    "clinic_sms_provider_results_total",
    "Messages handed to a provider, by outcome kind (accepted, retryable, permanent, "
    "unknown_outcome).",
    ["provider", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "clinic_sms_provider_call_duration_seconds",
    "Time of one provider call (a batch).",
    ["provider"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def _outcome(result: SendResult) -> str:
    return "accepted" if isinstance(result, Accepted) else result.kind.value


class MeasuredProvider:
    """Wraps an adapter: counts each message's outcome and times each call."""

    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider
        self.name = provider.name
        self.max_batch_size = provider.max_batch_size

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        started = time.perf_counter()
        try:
            results = await self._provider.send_batch(messages)
        except BaseException:
            PROVIDER_RESULTS.labels(self.name, "unknown_outcome").inc(len(messages))
            raise
        finally:
            PROVIDER_LATENCY.labels(self.name).observe(time.perf_counter() - started)
        for result in results:
            PROVIDER_RESULTS.labels(self.name, _outcome(result)).inc()
        return results
