"""Sends count provider outcomes on /metrics."""

from typing import Any

import httpx

from app.messages import tasks
from tests.conftest import ClinicAccess
from tests.test_metrics import sample, scrape


async def test_sends_count_provider_outcomes_and_empty_the_backlog(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    ctx: dict[str, Any],
) -> None:
    accepted = sample("clinic_sms_provider_results_total", provider="sandbox", outcome="accepted")
    recorded = sample("clinic_sms_messages_recorded_total", result="sent")
    calls = sample("clinic_sms_provider_call_duration_seconds_count", provider="sandbox")
    for _ in range(3):
        created = await client.post(
            "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": "Hei"}
        )
        assert created.status_code == 201, created.text
    await tasks.dispatch(ctx)
    after = sample("clinic_sms_provider_results_total", provider="sandbox", outcome="accepted")
    assert after == accepted + 3
    assert sample("clinic_sms_messages_recorded_total", result="sent") == recorded + 3
    assert sample("clinic_sms_provider_call_duration_seconds_count", provider="sandbox") > calls
    assert (await scrape(client))["clinic_sms_messages_due"] == 0
