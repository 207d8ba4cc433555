"""A local HTTP server speaking LINK Mobility's send API, counting what it receives.

It runs in a thread of the test process, so a worker in another process talks to it over a
real socket; `received` tells how often each of our message ids (LINK `refId`) arrived.
"""

import contextlib
import json
import socket
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLinkServer:
    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.delay_seconds = delay_seconds
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "FakeLinkServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down as a crashed server is: no new connection, the kept-alive ones closed."""
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # closed by the client meanwhile
                    connection.shutdown(socket.SHUT_RDWR)

    def total(self) -> int:
        with self._lock:
            return sum(self.received.values())

    def _record(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            self.received.update(str(message.get("refId")) for message in messages)
        return [
            {"messageId": uuid.uuid4().hex, "resultCode": 1005, "refId": message.get("refId")}
            for message in messages
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/sms/sendbatch"):
                    answer: Any = server._record(body["sendRequestMessages"])
                else:
                    answer = server._record([body])[0]
                time.sleep(server.delay_seconds)
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                return

        return Handler
