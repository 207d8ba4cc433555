"""X-Request-ID: accepted when safe, else made; echoed; on the request's and its jobs' logs."""

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from app.core.logging import JsonFormatter, request_id
from app.worker.settings import with_request_id
from tests.conftest import ClinicAccess


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def root_records() -> Iterator[Records]:
    handler = Records()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


async def test_a_safe_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:01.2_x"})
    assert response.headers["x-request-id"] == "lb-7f3a:01.2_x"


async def test_a_request_without_an_id_gets_a_fresh_one(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize("offered", ["x" * 129, "a b", 'x","level":"CRITICAL', "", "é"])
async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient, offered: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": offered.encode()})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_every_log_line_of_a_request_carries_its_id(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    with root_records() as captured:
        response = await client.get(
            "/v1/messages", headers=clinic.headers | {"X-Request-ID": "req-42"}
        )
    assert response.status_code == 200
    [line] = [r for r in captured.records if r.name == "app.request"]
    assert line.request_id == "req-42"  # type: ignore[attr-defined]
    assert json.loads(JsonFormatter().format(line))["request_id"] == "req-42"
    assert request_id.get() is None, "the id does not outlive its request"


async def test_a_job_the_request_enqueued_logs_with_the_requests_id(
    client: httpx.AsyncClient, clinic: ClinicAccess, redis: ArqRedis
) -> None:
    response = await client.post(
        "/v1/messages",
        headers=clinic.headers | {"X-Request-ID": "req-job-1"},
        json={"to": "+4791234567", "text": "Hei"},
    )
    assert response.status_code == 201, response.text
    [job] = await redis.queued_jobs()
    assert job.kwargs == {"request_id": "req-job-1"}

    async def task(ctx: dict[str, Any]) -> str:
        logging.getLogger("tests.job").warning("sending")
        return "done"

    with root_records() as captured:
        assert await with_request_id(task)({}, *job.args, **job.kwargs) == "done"
    [line] = [r for r in captured.records if r.name == "tests.job"]
    assert line.request_id == "req-job-1"  # type: ignore[attr-defined]
    assert request_id.get() is None


async def test_jobs_enqueued_outside_a_request_carry_no_id(redis: ArqRedis) -> None:
    async def task(ctx: dict[str, Any]) -> str | None:
        return request_id.get()

    assert await with_request_id(task)({}) is None
    assert await with_request_id(task)({}, request_id="r-1") == "r-1"
