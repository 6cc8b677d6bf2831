"""A hostile HTTP server on 127.0.0.1: whatever a broken proxy, captive portal or overloaded
service sends, scripted per request.

`tests/fakes/server.py`'s fakes answer whole bodies at once; what breaks clients is in how a body
arrives, so an `Answer` here can also be streamed: a byte every 20 s (the per-read timeout never
fires), or 500 MB generated on the fly (the server holds one megabyte, never the body). Every
request is kept, so a test can tell what reached the server: a redirect that was followed shows
up as a request to its target.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.fakes.server import FakeService, Request, read_request

MiB = 1024 * 1024


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A body sent piece by piece instead of `body`; with `length`, that Content-Length is
    # declared up front (else the body ends when the connection closes).
    stream: Callable[[threading.Event], Iterator[bytes]] | None = None
    length: int | None = None


def json_answer(status: int, text: str, **headers: str) -> Answer:
    return Answer(status, text.encode(), {"Content-Type": "application/json", **headers})


def drip(every: float, total: int) -> Callable[[threading.Event], Iterator[bytes]]:
    """One byte, then one more every `every` seconds, until `total` or the server stops."""

    def pieces(stopping: threading.Event) -> Iterator[bytes]:
        for _ in range(total):
            yield b" "
            if stopping.wait(every):
                return

    return pieces


def huge(size: int, head: bytes = b'{"status": "ok", "padding": "') -> Answer:
    """A JSON-looking body of `size` bytes, generated a megabyte at a time."""
    block = b"x" * MiB

    def pieces(stopping: threading.Event) -> Iterator[bytes]:
        yield head
        left = size - len(head)
        while left > 0 and not stopping.is_set():
            part = block[: min(MiB, left)]
            left -= len(part)
            yield part

    return Answer(200, headers={"Content-Type": "application/json"}, stream=pieces, length=size)


class HostileServer(FakeService):
    """Answers every request with `answer(request)`; keeps the requests."""

    def __init__(self, answer: Callable[[Request], Answer]) -> None:
        super().__init__()
        self.answer = answer
        self.stopping = threading.Event()

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        request = read_request(handler)
        with self.lock:
            self.requests.append(request)
        answer = self.answer(request)
        # The client giving up mid-answer is what these answers are for.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(handler, answer)

    def _write(self, handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        handler.send_response(answer.status)
        for key, value in answer.headers.items():
            handler.send_header(key, value)
        if answer.stream is None:
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            handler.wfile.write(answer.body)
            return
        if answer.length is not None:
            handler.send_header("Content-Length", str(answer.length))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.flush()
        for piece in answer.stream(self.stopping):
            handler.wfile.write(piece)
            handler.wfile.flush()

    def stop(self) -> None:
        self.stopping.set()
        super().stop()
