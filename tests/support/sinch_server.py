"""A local HTTP server speaking Sinch's batch API (xms v1), counting what it receives.

Like `link_server`, it runs in a thread of the test process and answers over a real
socket. Each batch is answered 201 with its id; then, as Sinch does for
`delivery_report: per_recipient`, a recipient delivery report is posted to the batch's
`callback_url` (with its host swapped for `report_to`, the test's API server).
"""

import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx


class FakeSinchServer:
    def __init__(self, report_to: str | None = None) -> None:
        self.report_to = report_to
        self.received: Counter[str] = Counter()
        self.report_answers: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "FakeSinchServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reports_posted(self) -> int:
        with self._lock:
            return len(self.report_answers)

    def _accept(self, batch: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.received[str(batch.get("client_reference"))] += 1
        return {
            "id": uuid.uuid4().hex[:26].upper(),
            "from": batch["from"],
            "to": batch["to"],
            "body": batch["body"],
            "type": "mt_text",
            "created_at": "2026-11-30T10:00:00.123Z",
            "modified_at": "2026-11-30T10:00:00.123Z",
            "canceled": False,
            "delivery_report": batch.get("delivery_report", "none"),
        }

    def _report(self, batch: dict[str, Any], answer: dict[str, Any]) -> None:
        callback = batch.get("callback_url")
        if not callback or self.report_to is None:
            return
        parts = urlsplit(callback)
        url = f"{self.report_to}{parts.path}"
        report = {
            "type": "recipient_delivery_report_sms",
            "batch_id": answer["id"],
            "recipient": batch["to"][0].removeprefix("+"),
            "code": 0,
            "status": "Delivered",
            "at": "2026-11-30T10:00:05.000Z",
            "client_reference": batch.get("client_reference"),
        }
        status = httpx.post(url, json=report, timeout=10).status_code
        with self._lock:
            self.report_answers.append(status)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = server._accept(batch)
                payload = json.dumps(answer).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                server._report(batch, answer)

            def log_message(self, *_args: Any) -> None:
                return

        return Handler
