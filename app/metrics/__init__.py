"""Counters and histograms, and the few hooks that feed them.

With `PROMETHEUS_MULTIPROC_DIR` set (before start), every API and worker process writes
its values to files there and a scrape of any API process sums them all; see the README."""

import collections
import os
import socket
import time
from collections.abc import Sequence

from prometheus_client import Counter, Histogram, values

from app.clinic_settings.schemas import ProviderName
from app.providers.base import Accepted, OutboundSms, SendResult, SmsProvider


def process_identifier() -> str:
    """Names this process's files in the shared directory. In containers every process
    may be pid 1, so the pid alone would make two containers write one file."""
    host = socket.gethostname().replace("_", "-")  # the collector splits names on "_"
    return f"{host}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(process_identifier)  # type: ignore[no-untyped-call]

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
WEBHOOK_REPORTS = Counter(
    "clinic_sms_webhook_reports_total",
    "Delivery reports received from a provider's webhook, and webhook requests rejected.",
    ["provider", "result"],
)
REPORTS_APPLIED = Counter(
    "clinic_sms_delivery_reports_applied_total",
    "Stored delivery reports applied to their messages (the worker, any provider), and "
    "those whose message is unknown.",
    ["result"],
)
MESSAGES_RECORDED = Counter(
    "clinic_sms_messages_recorded_total",
    "Send outcomes the worker committed: sent, unknown_outcome, failed, retried.",
    ["result"],
)
EVENT_DELIVERIES = Counter(
    "clinic_sms_event_deliveries_total",
    "Event delivery attempts the worker committed: delivered, retrying, failed.",
    ["result"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def observe_reports_received(provider: str, received: int) -> None:
    WEBHOOK_REPORTS.labels(provider, "received").inc(received)


def observe_report_rejected(provider: str) -> None:
    # The provider comes from the path: anything else is one label, not one per guess.
    known = provider if provider in set(ProviderName) else "other"
    WEBHOOK_REPORTS.labels(known, "rejected").inc()


def observe_reports_applied(applied: int, unknown_message: int) -> None:
    REPORTS_APPLIED.labels("applied").inc(applied)
    REPORTS_APPLIED.labels("unknown_message").inc(unknown_message)


def observe_send_outcomes(sent: int, unknown: int, failed: int, retried: int) -> None:
    for result, count in (
        ("sent", sent),
        ("unknown_outcome", unknown),
        ("failed", failed),
        ("retried", retried),
    ):
        MESSAGES_RECORDED.labels(result).inc(count)


def observe_event_deliveries(delivered: int, retrying: int, failed: int) -> None:
    for result, count in (("delivered", delivered), ("retrying", retrying), ("failed", failed)):
        EVENT_DELIVERIES.labels(result).inc(count)


def _outcome(result: SendResult) -> str:
    return "accepted" if isinstance(result, Accepted) else result.kind.value


class MeasuredProvider:
    """Wraps an adapter: counts each message's outcome and times each call."""

    def __init__(self, provider: SmsProvider) -> None:
        self.adapter = provider
        self.name = provider.name
        self.max_batch_size = provider.max_batch_size

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        started = time.perf_counter()
        try:
            results = await self.adapter.send_batch(messages)
        except BaseException:
            PROVIDER_RESULTS.labels(self.name, "unknown_outcome").inc(len(messages))
            raise
        finally:
            PROVIDER_LATENCY.labels(self.name).observe(time.perf_counter() - started)
        for outcome, count in collections.Counter(map(_outcome, results)).items():
            PROVIDER_RESULTS.labels(self.name, outcome).inc(count)
        return results
