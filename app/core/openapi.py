"""The published contract, built in one place from the routes.

Every error a route can answer is documented as our problem details: 401 (and 403 for the
admin paths) from the route's authentication dependency, 404 from a path parameter that
names a resource, 422 from anything the request carries, and the codes a route declares
itself in `responses=` (409, 400, 413). FastAPI's own `HTTPValidationError` is removed: our
422 body is a `Problem`. Operation ids are camelCase names of the route functions (or the
names below), pagination parameters are shared components, and links let a client (and
schemathesis' stateful phase) go from an answer to the next operation.
"""

import re
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel

from app.clinics.auth import require_admin, require_clinic
from app.core.errors import PROBLEM_CONTENT_TYPE, Problem
from app.core.openapi_links import LINKS, TAGS
from app.core.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT

Schema = dict[str, Any]

# Where the function's name does not say what the operation does for a client.
OPERATION_IDS = {
    "put_patient": "upsertPatient",
    "put_patients": "upsertPatients",
    "erase_patient": "deletePatient",
    "put_appointment": "upsertAppointment",
    "put_appointments": "upsertAppointments",
    "add_reminders": "addAppointmentReminders",
    "remind_day": "sendDayReminders",
    "create_bulk": "createBulkMessages",
    "get_rules": "getReminderRules",
    "replace_rules": "replaceReminderRules",
    "create_subscription": "createEventSubscription",
    "list_subscriptions": "listEventSubscriptions",
    "get_subscription": "getEventSubscription",
    "delete_subscription": "deleteEventSubscription",
    "list_deliveries": "listEventDeliveries",
    "delivery_reports": "receiveDeliveryReports",
    "inbound_sms": "receiveInboundSms",
    "healthz": "getLiveness",
    "readyz": "getReadiness",
    "patch_settings": "updateSettings",
}

ERROR_DESCRIPTIONS = {
    400: "The body could not be read",
    401: "No API key, or one that is unknown or revoked",
    403: "A clinic API key on an admin path",
    404: "Nothing with this id for this clinic",
    409: "The request conflicts with the current state",
    413: "The body is too large",
    422: "Invalid input, or an unknown query parameter: the problem's `errors` name each "
    "field and why",
}

PAGINATION_PARAMETERS: dict[str, Schema] = {
    "cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "`next_cursor` of the previous page; absent for the first page",
        "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Items per page",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
}
_PAGINATION_REFS = {"cursor": "Cursor", "limit": "Limit"}


def operation_id(route: APIRoute) -> str:
    """Passed to FastAPI as `generate_unique_id_function`: stable, readable ids."""
    if route.name in OPERATION_IDS:
        return OPERATION_IDS[route.name]
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _summary(operation_id: str) -> str:
    """`upsertPatient` -> "Upsert patient"."""
    return re.sub(r"(?=[A-Z])", " ", operation_id).lower().capitalize()


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _names_a_resource(route: RouteContext) -> bool:
    """A free identifier in the path may name nothing (a PUT creates it); an enum value
    always names something."""
    return "PUT" not in (route.methods or ()) and any(
        not (
            isinstance(param.field_info.annotation, type)
            and issubclass(param.field_info.annotation, Enum)
        )
        for param in route.dependant.path_params
    )


def _takes_input(route: RouteContext) -> bool:
    dependant = route.dependant
    return bool(
        route.body_field
        or dependant.query_params
        or dependant.path_params
        or dependant.header_params
        or any(sub.query_params or sub.header_params for sub in dependant.dependencies)
    )


def route_errors(route: RouteContext) -> set[int]:
    """The error statuses this route can answer, besides a 500."""
    declared = {int(code) for code in route.responses if str(code).isdigit()}
    errors = {code for code in declared if code >= 400}
    calls = set(_calls(route.dependant))
    authenticated = require_clinic in calls or require_admin in calls
    if authenticated:
        errors.add(401)
    if require_admin in calls:
        errors.add(403)
    if _names_a_resource(route):
        errors.add(404)
    # Provider webhooks answer unreadable input with 400, as providers expect.
    # Unknown query parameters are refused on every authenticated route.
    if (authenticated or _takes_input(route)) and 400 not in errors:
        errors.add(422)
    return errors


def _problem_response(description: str) -> Schema:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _document_errors(operation: Schema, errors: set[int]) -> None:
    responses: dict[str, Schema] = operation["responses"]
    for status in list(responses):
        if status.isdigit() and int(status) >= 400 and int(status) not in errors:
            del responses[status]
    for code in sorted(errors):
        declared = responses.get(str(code), {})
        if code >= 500 and "content" in declared:
            continue  # a 5xx with a body of its own (/readyz's Readiness), not a problem
        description = declared.get("description", "Validation Error")
        if description == "Validation Error":  # FastAPI's default
            description = ERROR_DESCRIPTIONS[code]
        responses[str(code)] = _problem_response(description)
    operation["responses"] = dict(sorted(responses.items()))


def _share_pagination(operation: Schema) -> None:
    operation["parameters"] = [
        {"$ref": f"#/components/parameters/{_PAGINATION_REFS[param['name']]}"}
        if param.get("in") == "query" and param.get("name") in _PAGINATION_REFS
        else param
        for param in operation.get("parameters", [])
    ]


def _list_example(schema: Schema, schemas: dict[str, Schema]) -> Schema | None:
    """`{data: [item], ...}` from the item's example: lists need no examples of their own."""
    properties: dict[str, Schema] = schema.get("properties", {})
    item_ref = properties.get("data", {}).get("items", {}).get("$ref", "")
    item = schemas.get(item_ref.rsplit("/", 1)[-1], {})
    if "examples" not in item:
        return None
    example: Schema = {"data": item["examples"][:1]}
    for name, prop in properties.items():
        if name != "data":
            example[name] = [] if prop.get("type") == "array" else None
    return example


def _subclasses(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in model.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _complete_examples(schemas: dict[str, Schema]) -> None:
    # FastAPI drops every null from the document, examples' nulls included: put them back.
    for model in _subclasses(BaseModel):
        extra = model.model_config.get("json_schema_extra")
        inherited = any(
            base.model_config.get("json_schema_extra") is extra
            for base in model.__bases__
            if issubclass(base, BaseModel)
        )
        if (
            isinstance(extra, dict)
            and "examples" in extra
            and not inherited
            and model.__name__ in schemas
        ):
            schemas[model.__name__]["examples"] = extra["examples"]
    for schema in schemas.values():
        if "examples" not in schema and (example := _list_example(schema, schemas)):
            schema["examples"] = [example]


def _add_links(operation: Schema) -> None:
    for status, links in LINKS.get(operation["operationId"], {}).items():
        operation["responses"][status]["links"] = links


def _operations(app: FastAPI, spec: Schema) -> Iterator[tuple[RouteContext, Schema]]:
    """Each operation with its route as included (prefix and router dependencies applied)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                yield route, spec["paths"][route.path_format][method.lower()]


def build_openapi(app: FastAPI, webhooks: dict[str, Schema], schemas: dict[str, Schema]) -> Schema:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
    )
    components = spec.setdefault("components", {})
    component_schemas: dict[str, Schema] = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        component_schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    component_schemas.update(problem.pop("$defs", {}))
    component_schemas["Problem"] = problem
    component_schemas.update(schemas)
    _complete_examples(component_schemas)
    components["parameters"] = {
        _PAGINATION_REFS[name]: parameter for name, parameter in PAGINATION_PARAMETERS.items()
    }
    for route, operation in _operations(app, spec):
        if route.summary is None:
            operation["summary"] = _summary(operation["operationId"])
        _document_errors(operation, route_errors(route))
        _share_pagination(operation)
        _add_links(operation)
    spec["webhooks"] = webhooks
    return spec
