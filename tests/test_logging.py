import logging

import httpx

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
