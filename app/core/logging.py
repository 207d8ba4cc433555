import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.phones import mask
from app.metrics import observe_request

# uvicorn adds `color_message`: the same text with terminal colour codes.
_STANDARD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}

# The id of the request (or of the request that enqueued the running job).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "x-request-id"
# A client's id is kept only when it cannot forge log fields or flood a line.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


# Provider webhook URLs carry the clinic's secret; access logs must not.
_WEBHOOK_SECRET = re.compile(r"(/v1/webhooks/[^/\s]+/)[^/\s?]+")
# A safety net for numbers in exception texts and messages that did not mask them.
_PHONE_NUMBER = re.compile(r"\+\d{7,15}\b")


def redact(text: str) -> str:
    text = _WEBHOOK_SECRET.sub(r"\1***", text)
    return _PHONE_NUMBER.sub(lambda found: mask(found.group()), text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={...}` fields are kept as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES}
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


_plain_record_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every record of every logger (uvicorn's and arq's too) carries the current id."""
    record = _plain_record_factory(*args, **kwargs)
    current = request_id.get()
    if current is not None:
        record.request_id = current
    return record


logging.setLogRecordFactory(_record_with_request_id)


def accepted_request_id(offered: str | None) -> str:
    if offered is not None and _SAFE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # arq's CLI installs its own handler; let its records reach ours instead, once.
    for name in ("arq", "arq.worker", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # uvicorn's access log prints raw paths and query strings (phone numbers, webhook
    # secrets); `log_request` logs the route template instead.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request URL at INFO; subscriber URLs may carry their own tokens.
    logging.getLogger("httpx").setLevel(logging.WARNING)


_request_logger = logging.getLogger("app.request")


class RequestLogMiddleware:
    """One line per request with the route template, never the raw path or query (plain
    ASGI: `BaseHTTPMiddleware` costs about as much as a small endpoint)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            observe_request(scope["method"], route, status, seconds)
            _request_logger.info(
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={"duration_ms": round(seconds * 1000, 1)},
            )


class RequestIdMiddleware:
    """Accepts a safe `X-Request-ID` or makes one, and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode())
        current = accepted_request_id(offered.decode("latin-1") if offered else None)
        token = request_id.set(current)

        async def echo(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), current.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, echo)
        finally:
            request_id.reset(token)
