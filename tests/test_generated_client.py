"""A client generated from `openapi/openapi.json` by openapi-python-client, used unchanged
against the real app: successes and documented errors come back as typed objects."""

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ClinicAccess

PUBLISHED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "clinic_sms_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Generated once per session, offline (no post-hooks: nothing is fetched or run)."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(PUBLISHED),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / PACKAGE),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(root))
    try:
        yield PACKAGE
    finally:
        sys.path.remove(str(root))


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _client(app: FastAPI, token: str) -> Any:
    client_module = _module("client")
    return client_module.AuthenticatedClient(
        base_url="http://test",
        token=token,
        httpx_args={"transport": httpx.ASGITransport(app=app)},
    )


async def test_generated_client_creates_sends_lists_and_reads_problems(
    generated: str, app: FastAPI, clinic: ClinicAccess
) -> None:
    models = _module("models")
    upsert_patient = _module("api.patients.upsert_patient")
    create_message = _module("api.messages.create_message")
    list_messages = _module("api.messages.list_messages")
    get_message = _module("api.messages.get_message")
    client = _client(app, clinic.key)

    patient = await upsert_patient.asyncio(
        client=client,
        patient_no="10234",
        body=models.PatientWrite(first_name="Kari", last_name="Nordmann", mobile="+4791234567"),
    )
    assert isinstance(patient, models.PatientPublic)
    assert patient.mobile == "+4791234567"

    created = await create_message.asyncio(
        client=client,
        body=models.MessageCreate(patient_no="10234", text="Hei Kari! Husk timen din i morgen."),
    )
    assert isinstance(created, models.MessagesCreated)
    [message] = created.data

    listed = await list_messages.asyncio(client=client, limit=10)
    assert isinstance(listed, models.MessageList)
    assert [item.id for item in listed.data] == [message.id]

    invalid = await create_message.asyncio(
        client=client, body=models.MessageCreate(patient_no="99999", text="Hei")
    )
    assert isinstance(invalid, models.Problem)
    assert invalid.status == 422
    assert [error.field for error in invalid.errors] == ["patient_no"]

    missing = await get_message.asyncio(client=client, message_id=uuid.uuid4())
    assert isinstance(missing, models.Problem)
    assert (missing.status, missing.type_) == (404, "/problems/not-found")


async def test_generated_client_reads_a_wrong_key_as_a_problem(
    generated: str, app: FastAPI
) -> None:
    models = _module("models")
    list_messages = _module("api.messages.list_messages")
    answer = await list_messages.asyncio(client=_client(app, "not-a-key"))
    assert isinstance(answer, models.Problem)
    assert (answer.status, answer.title) == (401, "Unauthorized")
