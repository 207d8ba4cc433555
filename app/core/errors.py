"""One error body everywhere: RFC 9457 problem details with field-level `errors`."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    reason: str
    code: str | None = None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] = []


class AppError(Exception):
    """An expected failure with its HTTP status; raised by services, rendered once."""

    status_code = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers
        self.extra = extra or {}


class NotFound(AppError):
    status_code = 404
    slug = "not-found"
    title = "Not found"


class Unauthorized(AppError):
    status_code = 401
    slug = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    slug = "forbidden"
    title = "Forbidden"


class Conflict(AppError):
    status_code = 409
    slug = "conflict"
    title = "Conflict"


class TooManyRequests(AppError):
    status_code = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, per_minute: int, retry_after: int) -> None:
        super().__init__(
            f"Over the limit of {per_minute} requests a minute; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


class InvalidInput(AppError):
    status_code = 422
    slug = "validation-error"
    title = "Invalid input"

    @classmethod
    def for_field(cls, field: str, reason: str, code: str | None = None) -> "InvalidInput":
        return cls(reason, errors=[FieldError(field=field, reason=reason, code=code)])


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = Problem(
        type=problem_type(slug), title=title, status=status, detail=detail, errors=list(errors)
    ).model_dump(mode="json")
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def _field_path(location: Sequence[str | int]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        reason = str(error.get("msg", "invalid value"))
        if error.get("type") == "extra_forbidden":
            reason = "unknown field"
        errors.append(
            FieldError(
                field=_field_path(error.get("loc", ())), reason=reason, code=error.get("type")
            )
        )
    return errors


def app_error_response(exc: AppError) -> JSONResponse:
    """The problem details for one of our errors, wherever it is answered."""
    return problem_response(
        exc.status_code, exc.slug, exc.title, exc.detail, exc.errors, exc.headers, exc.extra
    )


async def _handle_app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return app_error_response(exc)


async def _handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    detail = "; ".join(f"{error.field}: {error.reason}" for error in errors)
    return problem_response(422, InvalidInput.slug, InvalidInput.title, detail, errors)


async def _handle_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    slug = title.lower().replace(" ", "-")
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, slug, title, str(exc.detail), headers=headers)


async def _handle_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(500, "internal-error", "Internal server error", None)


# PostgreSQL's deadlock victim, serialization failure and a lock not had within the
# server's `lock_timeout`: the transaction was rolled back whole, and the same request sent
# again would most likely go through.
_LOST_RACE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def lost_a_race(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _LOST_RACE_SQLSTATES


async def _handle_database_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not lost_a_race(exc):
        raise exc  # on to the outermost handler, as any unexpected error
    logger.warning("a request lost a race in the database and was rolled back", exc_info=exc)
    return problem_response(
        503,
        "busy",
        "Busy",
        "Another request held what this one needed, and nothing of this one was saved. "
        "Send it again.",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    app.add_exception_handler(Exception, _handle_unexpected)


def invalid_input_from(exc: ValidationError) -> InvalidInput:
    """Re-raise a model validation failure found after the request was parsed (e.g. a merge)."""
    errors = [
        FieldError(field=_field_path(error["loc"]), reason=error["msg"], code=error["type"])
        for error in exc.errors()
    ]
    return InvalidInput("; ".join(f"{e.field}: {e.reason}" for e in errors), errors=errors)
