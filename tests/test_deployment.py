"""What `docker compose up` runs: services come back after a crash, and the worker's health
is its heartbeat (no Docker engine here, so the file itself is checked)."""

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_every_service_restarts_after_a_crash_and_migrations_run_once() -> None:
    assert {name: service.get("restart") for name, service in _services().items()} == {
        "postgres": "unless-stopped",
        "redis": "unless-stopped",
        "migrate": "no",
        "api": "unless-stopped",
        "worker": "unless-stopped",
    }


def test_api_and_worker_wait_for_the_migrations_and_healthy_stores() -> None:
    services = _services()
    assert services["migrate"]["command"][-1].endswith("exec python -m app.cli migrate")
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }


def test_the_worker_runs_through_outages_and_reports_its_heartbeat() -> None:
    worker = _services()["worker"]
    assert worker["command"] == ["python", "-m", "app.worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "app.worker", "check"]


def test_api_and_worker_share_one_metrics_directory_that_migrate_empties() -> None:
    services = _services()
    for name in ("migrate", "api", "worker"):
        assert services[name]["volumes"] == ["metrics:/srv/metrics"]
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/srv/metrics"
    assert "find /srv/metrics -mindepth 1 -delete &&" in services["migrate"]["command"][-1]
