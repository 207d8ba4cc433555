"""A stand-in for LINK Mobility's SMS REST API, fast enough not to be what is measured.

`POST /sms/send` answers `{messageId, resultCode: 1005, description: "Queued"}`;
`POST /sms/sendbatch` answers one `{messageId, refId, resultCode, message}` per entry of
`sendRequestMessages` (as documented in LINK-MT v1.18). HTTP/1.1 with keep-alive, on a
socket the parent bound, in its own process so it never shares a CPU loop with the worker.
`GET /stats` answers `{messages, distinct}`: every refId taken, and how many different
ones (a message sent twice makes them differ).
"""

import asyncio
import collections
import itertools
import json
import multiprocessing
import socket
from multiprocessing.process import BaseProcess
from typing import Any

_ids = itertools.count()
_refs: collections.Counter[object] = collections.Counter()


def _message_id() -> str:
    return f"link{next(_ids):012d}"


def _answer(path: str, body: bytes) -> tuple[int, bytes]:
    if path == "/stats":
        return 200, json.dumps({"messages": _refs.total(), "distinct": len(_refs)}).encode()
    request: dict[str, Any] = json.loads(body)
    if path == "/sms/send":
        _refs[request.get("refId")] += 1
        answer: Any = {"messageId": _message_id(), "resultCode": 1005, "description": "Queued"}
    elif path == "/sms/sendbatch":
        _refs.update(message.get("refId") for message in request["sendRequestMessages"])
        answer = [
            {
                "messageId": _message_id(),
                "refId": message.get("refId"),
                "resultCode": 1005,
                "message": "Queued",
            }
            for message in request["sendRequestMessages"]
        ]
    else:
        return 404, b'{"errorCode":106000,"description":"unknown path"}'
    return 200, json.dumps(answer).encode()


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, headers = head.partition(b"\r\n")
            path = request_line.split(b" ")[1].decode()
            length = 0
            for line in headers.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            status, answer = _answer(path, await reader.readexactly(length))
            writer.write(
                b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (status, len(answer))
                + answer
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass
    finally:
        writer.close()


def _run(listener: socket.socket) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        server = await asyncio.start_server(_serve, sock=listener, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start() -> tuple[BaseProcess, str]:
    """The server process and its base URL; the socket listens before this returns."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    process = multiprocessing.get_context("fork").Process(target=_run, args=(listener,))
    process.start()
    host, port = listener.getsockname()[:2]
    listener.close()
    return process, f"http://{host}:{port}"
