"""Two requests with one Idempotency-Key at the same time: the second waits for the
first and replays its answer; past the bound it is 409. Runs on SQLite (one writer) and
PostgreSQL (the key's row lock)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.clock import FixedClock
from app.core.config import Settings
from app.core.errors import InvalidInput
from app.main import create_app
from app.messages import service
from tests.conftest import ClinicAccess

BODY = {"to": "+4791234567", "text": "Hei"}


class HeldHandler:
    """Wraps `create_message`: the first call does its work, then holds its transaction
    open until released; later calls run straight through."""

    def __init__(self, fail_first: bool = False) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0
        self.fail_first = fail_first
        self._real = service.create_message

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            return await self._real(*args, **kwargs)
        result = await self._real(*args, **kwargs)
        self.entered.set()
        await self.release.wait()
        if self.fail_first:
            raise InvalidInput("the first request fails after its work")
        return result


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldHandler:
    handler = HeldHandler()
    monkeypatch.setattr(service, "create_message", handler)
    return handler


async def _post(client: httpx.AsyncClient, clinic: ClinicAccess, key: str) -> httpx.Response:
    headers = {**clinic.headers, "Idempotency-Key": key}
    return await client.post("/v1/messages", headers=headers, json=BODY)


async def _message_count(client: httpx.AsyncClient, clinic: ClinicAccess) -> int:
    listed = await client.get("/v1/messages", headers=clinic.headers)
    return len(listed.json()["data"])


async def _second_while_first_holds(
    client: httpx.AsyncClient, clinic: ClinicAccess, held: HeldHandler, *, hold: float
) -> tuple[httpx.Response, httpx.Response]:
    first = asyncio.create_task(_post(client, clinic, "same"))
    await asyncio.wait_for(held.entered.wait(), 10)
    second = asyncio.create_task(_post(client, clinic, "same"))
    try:
        await asyncio.sleep(hold)
    finally:
        held.release.set()
    return await asyncio.gather(first, second)


async def test_the_second_waits_for_the_first_and_replays_its_answer(
    client: httpx.AsyncClient, clinic: ClinicAccess, held: HeldHandler
) -> None:
    first, second = await _second_while_first_holds(client, clinic, held, hold=0.5)
    assert first.status_code == second.status_code == 201, second.text
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert held.calls == 1
    assert await _message_count(client, clinic) == 1


async def test_gathered_at_once_one_runs_and_the_other_replays(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    answers = await asyncio.gather(*(_post(client, clinic, "burst") for _ in range(4)))
    assert {answer.status_code for answer in answers} == {201}, [a.text for a in answers]
    assert len({answer.text for answer in answers}) == 1
    replayed = [answer for answer in answers if "idempotent-replayed" in answer.headers]
    assert len(replayed) == 3
    assert await _message_count(client, clinic) == 1


async def test_when_the_first_fails_the_second_runs_itself(
    client: httpx.AsyncClient, clinic: ClinicAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldHandler(fail_first=True)
    monkeypatch.setattr(service, "create_message", held)
    first, second = await _second_while_first_holds(client, clinic, held, hold=0.3)
    assert first.status_code == 422
    assert second.status_code == 201, second.text
    assert "idempotent-replayed" not in second.headers
    assert held.calls == 2
    assert await _message_count(client, clinic) == 1


@pytest.fixture
async def impatient_client(
    settings: Settings, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        settings.model_copy(update={"idempotency_wait_seconds": 0.3}), clock=clock
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_past_the_bound_the_second_is_409_and_stores_nothing(
    impatient_client: httpx.AsyncClient, clinic: ClinicAccess, held: HeldHandler
) -> None:
    first, second = await _second_while_first_holds(impatient_client, clinic, held, hold=1.5)
    assert first.status_code == 201
    assert second.status_code == 409
    problem = second.json()
    assert problem["type"] == "/problems/conflict"
    assert "Idempotency-Key" in problem["detail"]
    assert "0.3 s" in problem["detail"]
    assert second.headers["content-type"] == "application/problem+json"
    assert held.calls == 1
    assert await _message_count(impatient_client, clinic) == 1
    again = await _post(impatient_client, clinic, "same")
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
