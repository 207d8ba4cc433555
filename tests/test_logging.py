import json
import logging

import httpx

from app.core.config import Settings
from app.core.logging import JsonFormatter
from app.main import create_app
from tests.conftest import ClinicAccess


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_requests_are_logged_by_route_template_without_numbers(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    collector = Collector()
    logging.getLogger().addHandler(collector)
    try:
        response = await client.get(
            "/v1/messages", headers=clinic.headers, params={"to": "+4791234567"}
        )
    finally:
        logging.getLogger().removeHandler(collector)
    assert response.status_code == 200
    assert "GET /v1/messages 200" in collector.lines
    assert not [line for line in collector.lines if "91234567" in line]


def test_numbers_and_webhook_secrets_are_masked_in_messages_and_tracebacks() -> None:
    collector = Collector()
    collector.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(collector)
    try:
        try:
            raise ValueError("provider said: +4791234567 is barred; see /v1/webhooks/link/s3cr3t")
        except ValueError:
            logger.exception("sending to %s failed", "+4798765432")
    finally:
        logger.removeHandler(collector)
    [line] = collector.lines
    entry = json.loads(line)
    assert entry["message"] == "sending to +47******32 failed"
    assert "+47******67 is barred" in entry["exception"]
    assert "/v1/webhooks/link/***" in entry["exception"]
    assert "91234567" not in line
    assert "98765432" not in line
    assert "s3cr3t" not in line


def test_uvicorns_start_up_lines_are_json_without_its_colour_copy(settings: Settings) -> None:
    """uvicorn logs "Started server process" after importing the app, before the lifespan."""
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler())
    create_app(settings)
    [handler] = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert not logging.getLogger("uvicorn.error").handlers
    record = logging.makeLogRecord(
        {"name": "uvicorn.error", "msg": "Started server process [%d]", "args": (7,)}
    )
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    entry = json.loads(handler.format(record))
    assert entry["message"] == "Started server process [7]"
    assert "color_message" not in entry
