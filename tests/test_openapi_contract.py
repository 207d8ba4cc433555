"""What the contract promises a client: problem bodies, readable ids, links that chain,
the events as webhooks, and documentation that works offline."""

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from app.events.messages import message_event_data
from app.events.models import EventType
from app.events.payloads import EVENT_DATA, MessageStatusChanged
from app.messages.models import MessageStatus

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for path in spec["paths"].values() for operation in path.values()]


def test_every_error_is_a_problem_and_fastapis_validation_error_is_gone(app: FastAPI) -> None:
    spec = app.openapi()
    assert "HTTPValidationError" not in str(spec)
    for operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                content = response["content"]
                assert content == {"application/problem+json": {"schema": PROBLEM}}, status


def test_errors_follow_authentication_path_ids_and_declarations(app: FastAPI) -> None:
    spec = app.openapi()

    def errors(path: str, method: str) -> list[str]:
        responses = spec["paths"][path][method]["responses"]
        return [status for status in responses if status[0] == "4"]

    assert errors("/v1/clinics", "post") == ["401", "403", "422", "429"]
    assert errors("/v1/messages/{message_id}", "get") == ["401", "404", "422", "429"]
    assert errors("/v1/messages", "post") == ["401", "409", "422", "429"]
    assert errors("/v1/patients/{patient_no}", "put") == ["401", "409", "422", "429"]
    assert errors("/v1/templates/{type}", "get") == ["401", "422", "429"]
    assert errors("/healthz", "get") == []


def test_operation_ids_are_readable_and_every_operation_has_a_summary(app: FastAPI) -> None:
    spec = app.openapi()
    ids = [operation["operationId"] for operation in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", op_id) for op_id in ids), ids
    assert {"createMessage", "listMessages", "upsertAppointment", "createApiKey"} <= set(ids)
    assert all(operation.get("summary") for operation in _operations(spec))
    described = {tag["name"] for tag in spec["tags"] if tag.get("description")}
    used = {tag for operation in _operations(spec) for tag in operation["tags"]}
    assert used <= described


def test_pagination_is_described_once_and_referenced(app: FastAPI) -> None:
    spec = app.openapi()
    operation = spec["paths"]["/v1/messages"]["get"]
    assert {"$ref": "#/components/parameters/Cursor"} in operation["parameters"]
    assert {"$ref": "#/components/parameters/Limit"} in operation["parameters"]
    inline = [
        param
        for op in _operations(spec)
        for param in op.get("parameters", [])
        if param.get("name") in {"cursor", "limit"}
    ]
    assert inline == []


def test_links_name_real_operations_and_their_parameters(app: FastAPI) -> None:
    spec = app.openapi()
    by_id = {operation["operationId"]: operation for operation in _operations(spec)}
    links = [
        link
        for operation in _operations(spec)
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 20
    for link in links:
        target = by_id[link["operationId"]]
        names = {f"{p['in']}.{p['name']}" for p in target.get("parameters", []) if "name" in p}
        assert set(link["parameters"]) <= names, link


def test_every_event_type_is_a_webhook_with_the_signature_headers(app: FastAPI) -> None:
    webhooks = app.openapi()["webhooks"]
    assert set(webhooks) == {event_type.value for event_type in EventType}
    for webhook in webhooks.values():
        headers = {param["name"] for param in webhook["post"]["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_the_documented_event_data_is_what_we_send() -> None:
    moment = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    row = {
        "id": uuid.uuid4(),
        "status": MessageStatus.SENT.value,
        "delivery": "delivered",
        "type": "reminder_1",
        "patient_no": "10234",
        "appointment_id": "A-1",
        "failure_reason": None,
        "failure_detail": None,
        "sent_at": moment,
        "delivered_at": moment,
        "answered_at": None,
        "failed_at": None,
    }
    data = message_event_data(row)
    assert set(data) == set(MessageStatusChanged.model_fields)
    MessageStatusChanged.model_validate(data)
    for model, _ in EVENT_DATA.values():
        model.model_validate(model.model_json_schema()["examples"][0])


async def test_docs_need_no_internet(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", html)
        assert urls, page
        assert all(url.startswith("/") for url in urls), urls
        for url in urls:
            assert (await client.get(url)).status_code == 200, url


def _schema_name(schema: dict[str, Any]) -> str | None:
    refs = [schema.get("$ref")] + [option.get("$ref") for option in schema.get("anyOf", [])]
    return next((ref.rsplit("/", 1)[-1] for ref in refs if ref), None)


def _models(model: type[BaseModel] = BaseModel) -> dict[str, type[BaseModel]]:
    found = {}
    for sub in model.__subclasses__():
        found |= {sub.__name__: sub} | _models(sub)
    return found


def test_every_request_body_and_2xx_answer_has_an_example(app: FastAPI) -> None:
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    bodies, answers = set(), set()
    for operation in _operations(spec):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            bodies.add(_schema_name(content["schema"]))
        for status, response in operation["responses"].items():
            for content in response.get("content", {}).values() if status[0] == "2" else ():
                answers.add(_schema_name(content["schema"]))
    named = (bodies | answers) - {None}
    assert [name for name in sorted(named) if "examples" not in schemas[name]] == []
    # A request example must also pass the model's own validators, not only the schema.
    models = _models()
    for name in bodies - {None}:
        for example in schemas[name]["examples"]:
            models[name].model_validate(example)


def test_every_example_matches_its_schema(app: FastAPI) -> None:
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    checked = 0
    for name, schema in schemas.items():
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for example in schema.get("examples", []):
            validator.validate(example)
            checked += 1
    assert checked >= 20
