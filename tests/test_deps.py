"""Route dependencies run on the event loop: FastAPI runs a plain `def` dependency in a
worker thread, a hop there and back on every request that uses it."""

from typing import Any

import httpx
import pytest
from fastapi.dependencies import utils

from tests.conftest import ClinicAccess


async def test_a_request_runs_no_dependency_in_a_worker_thread(
    client: httpx.AsyncClient, clinic: ClinicAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    threaded: list[str] = []

    async def refuse(call: Any, *args: Any, **kwargs: Any) -> Any:
        threaded.append(getattr(call, "__qualname__", repr(call)))
        return call(*args, **kwargs)

    monkeypatch.setattr(utils, "run_in_threadpool", refuse)
    patient = {"first_name": "Kari", "last_name": "Nordmann", "mobile": "+4791234567"}
    put = await client.put("/v1/patients/1001", headers=clinic.headers, json=patient)
    assert put.status_code == 201, put.text
    assert (await client.get("/v1/settings", headers=clinic.headers)).status_code == 200
    assert threaded == []
