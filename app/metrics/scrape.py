"""What a scrape reads from the database, at scrape time, so it is right whichever
process (or none) is running: each gauge is one indexed query, and the message counters
one pass over the messages (app/metrics/messages.py)."""

import os
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import DeliveryStatus, event_delivery_table
from app.messages.models import MessageStatus, message_table
from app.metrics.messages import message_counters
from app.worker.heartbeat import newest_heartbeat_age

_message = message_table.c
_delivery = event_delivery_table.c


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family


async def database_metrics(session: AsyncSession, now: datetime) -> list[Metric]:
    due = (_message.status == MessageStatus.PENDING, _message.next_attempt_at <= now)
    due_count, oldest_due = (
        await session.execute(select(func.count(), func.min(_message.next_attempt_at)).where(*due))
    ).one()
    pending_events = (
        await session.execute(
            select(func.count()).where(_delivery.status == DeliveryStatus.PENDING)
        )
    ).scalar_one()
    heartbeat = await newest_heartbeat_age(session, now)
    return [
        *await message_counters(session),
        _gauge("clinic_sms_messages_due", "Messages due to be sent now.", due_count),
        _gauge(
            "clinic_sms_oldest_due_message_age_seconds",
            "How long the oldest due message has waited; 0 when none is due.",
            0.0 if oldest_due is None else (now - oldest_due).total_seconds(),
        ),
        _gauge(
            "clinic_sms_event_deliveries_pending",
            "Event deliveries waiting to be delivered (or retried).",
            pending_events,
        ),
        _gauge(
            "clinic_sms_worker_heartbeat_age_seconds",
            "How long ago the newest worker heartbeat was; absent if none ever beat.",
            None if heartbeat is None else heartbeat.total_seconds(),
        ),
    ]


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def process_registry() -> CollectorRegistry:
    """Every process's counters when they share a multiprocess directory, else this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def render(families: list[Metric]) -> bytes:
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_Fixed(families))
    return generate_latest(process_registry()) + generate_latest(gauges)
