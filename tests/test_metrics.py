"""GET /metrics after real requests and sends; the token; several processes' counters."""

import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.config import Settings
from app.main import create_app
from app.metrics.scrape import process_registry
from app.providers.base import Failed, FailureKind
from app.worker.heartbeat import record_heartbeat
from app.worker.models import WorkerStatus
from tests.conftest import ClinicAccess
from tests.support.dispatch import RecordingProvider
from tests.support.dispatch import dispatch_once as dispatch


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict[str, float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if not sample.labels
    }


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    route = {"method": "GET", "route": "/v1/messages/{message_id}"}
    before = sample("clinic_sms_http_requests_total", **route, status="404")
    timed = sample("clinic_sms_http_request_duration_seconds_count", **route)
    missing = "/v1/messages/0b0e6f4c-1d1e-4c55-9d51-000000000000"
    assert (await client.get(missing, headers=clinic.headers)).status_code == 404
    text = (await client.get("/metrics")).text
    assert sample("clinic_sms_http_requests_total", **route, status="404") == before + 1
    assert sample("clinic_sms_http_request_duration_seconds_count", **route) == timed + 1
    assert 'route="/v1/messages/{message_id}"' in text
    assert "0b0e6f4c" not in text, "never the raw path"


async def test_the_due_backlog_and_its_oldest_age_use_the_clock(
    client: httpx.AsyncClient, clinic: ClinicAccess, clock: FixedClock
) -> None:
    empty = await scrape(client)
    assert empty["clinic_sms_messages_due"] == 0
    assert empty["clinic_sms_oldest_due_message_age_seconds"] == 0
    for _ in range(2):
        created = await client.post(
            "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": "Hei"}
        )
        assert created.status_code == 201, created.text
    clock.advance(seconds=90)
    stuck = await scrape(client)
    assert stuck["clinic_sms_messages_due"] == 2
    assert stuck["clinic_sms_oldest_due_message_age_seconds"] == 90


async def test_the_worker_heartbeat_age_is_shown_once_a_worker_beat(
    client: httpx.AsyncClient,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert "clinic_sms_worker_heartbeat_age_seconds" not in await scrape(client)
    status = WorkerStatus(
        worker_id="w1",
        version="t",
        host="h",
        pid=1,
        mode="sqlite",
        sweep_interval_seconds=5,
        started_at=clock.now(),
        last_beat_at=clock.now(),
    )
    async with sessionmaker() as session, session.begin():
        await record_heartbeat(session, status, clock.now())
    clock.advance(seconds=42)
    assert (await scrape(client))["clinic_sms_worker_heartbeat_age_seconds"] == 42


@pytest.fixture
async def guarded(settings: Settings, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        settings.model_copy(update={"metrics_token": SecretStr("scrape-me-123")}), clock=clock
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.mark.parametrize("header", [None, "Bearer wrong", "scrape-me-123"])
async def test_with_a_token_set_a_scrape_without_it_is_refused(
    guarded: httpx.AsyncClient, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await guarded.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "METRICS_TOKEN" in response.json()["detail"]
    assert "clinic_sms" not in response.text


async def test_with_the_token_a_scrape_answers(guarded: httpx.AsyncClient) -> None:
    await scrape(guarded, Authorization="Bearer scrape-me-123")


_OTHER_PROCESS = """
from app.metrics import PROVIDER_RESULTS
PROVIDER_RESULTS.labels("twilio", "permanent").inc(7)
"""


def test_a_shared_multiprocess_directory_sums_every_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):  # two worker processes, say
        subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS],
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""},
            check=True,
            cwd=Path(__file__).parent.parent,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = generate_latest(process_registry()).decode()
    assert 'clinic_sms_provider_results_total{outcome="permanent",provider="twilio"} 14.0' in text
    # Named by host as well as pid: containers sharing the directory are all pid 1.
    host = socket.gethostname().replace("_", "-")
    assert all(path.name.startswith(f"counter_{host}-") for path in tmp_path.iterdir())


def labelled(text: str, name: str) -> dict[tuple[str, str], float]:
    return {
        (sample.labels["type"], sample.labels["provider"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_messages_are_counted_by_type_and_provider(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = []
    for number in ("+4791234567", "+4791234568", "+4791234569"):
        created = await client.post(
            "/v1/messages", headers=clinic.headers, json={"to": number, "text": "Hei"}
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["data"][0]["id"])
    cancel = await client.post(f"/v1/messages/{ids[0]}/cancel", headers=clinic.headers)
    assert cancel.status_code == 200, cancel.text
    refused = Failed(FailureKind.PERMANENT, "invalid_number", "no such number")
    # The clinic's provider is the sandbox; a message takes its name when claimed.
    provider = RecordingProvider("sandbox", answers={"+4791234569": refused})
    assert (await dispatch(sessionmaker, clock, provider)).claimed == 2

    text = (await client.get("/metrics")).text
    counted = {
        what: labelled(text, f"clinic_sms_messages_{what}_total")
        for what in ("created", "sent", "failed", "cancelled")
    }
    assert counted == {
        "created": {("free_text", "none"): 1, ("free_text", "sandbox"): 2},
        "sent": {("free_text", "none"): 0, ("free_text", "sandbox"): 1},
        "failed": {("free_text", "none"): 0, ("free_text", "sandbox"): 1},
        "cancelled": {("free_text", "none"): 1, ("free_text", "sandbox"): 0},
    }
