"""Delivery reports on /metrics: received and rejected by provider, applied by the worker."""

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.deliveries import tasks
from tests.conftest import ClinicAccess
from tests.test_metrics import sample
from tests.webhooks.helpers import sent_message, webhook_path
from tests.webhooks.test_sinch_reports import recipient_report


async def test_reports_are_counted_received_rejected_and_applied(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    redis: ArqRedis,
) -> None:
    received = sample("clinic_sms_webhook_reports_total", provider="sinch", result="received")
    rejected = sample("clinic_sms_webhook_reports_total", provider="sinch", result="rejected")
    guessed = sample("clinic_sms_webhook_reports_total", provider="other", result="rejected")
    applied = sample("clinic_sms_delivery_reports_applied_total", result="applied")
    message_id = await sent_message(client, clinic, sessionmaker, clock, "sinch")
    path = await webhook_path(client, clinic, "sinch", "delivery")

    ok = await client.post(path, json=recipient_report(message_id, "Delivered", 0))
    bad = await client.post(path, content=b"{not json")
    unknown = await client.post("/v1/webhooks/guess/x/delivery", json={})
    assert (ok.status_code, bad.status_code, unknown.status_code) == (200, 400, 404)
    await tasks.apply_stored({"sessionmaker": sessionmaker, "clock": clock, "redis": redis})

    assert sample("clinic_sms_webhook_reports_total", provider="sinch", result="received") == (
        received + 1
    )
    assert sample("clinic_sms_webhook_reports_total", provider="sinch", result="rejected") == (
        rejected + 1
    )
    assert sample("clinic_sms_webhook_reports_total", provider="other", result="rejected") == (
        guessed + 1
    )
    assert sample("clinic_sms_delivery_reports_applied_total", result="applied") == applied + 1
