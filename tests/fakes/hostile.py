"""A hostile HTTP server on 127.0.0.1: whatever a broken proxy, captive portal or overloaded
service sends, scripted per request.

`tests/fakes/server.py` answers whole bodies at once; what breaks clients is in how a body
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.server import Request

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


class HostileServer:
    """Answers every request with `answer(request)`; keeps the requests."""

    def __init__(self, answer: Callable[[Request], Answer]) -> None:
        self.answer = answer
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self, method: str | None = None) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests if method is None or r.method == method]

    def start(self) -> HostileServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake.lock:
                    fake.requests.append(request)
                answer = fake.answer(request)
                # The client giving up mid-answer is what these answers are for.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._write(answer)

            def _write(self, answer: Answer) -> None:
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.stream is None:
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    return
                if answer.length is not None:
                    self.send_header("Content-Length", str(answer.length))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.flush()
                for piece in answer.stream(fake.stopping):
                    self.wfile.write(piece)
                    self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
