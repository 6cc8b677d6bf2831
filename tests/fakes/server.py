"""A small threaded HTTP server on 127.0.0.1 for end-to-end tests and benchmarks.

Fakes subclass `FakeService` and implement `handle(request) -> Reply`. Faults are scripted with
`inject(path, reply)`: the next request to that path gets the injected reply instead.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    arrived: float = 0.0  # time.monotonic() when the request was read

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0

    def encoded(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()


class FakeService:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: list[Request] = []
        self._injected: dict[str, list[Reply]] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override -------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    # -- scripting -----------------------------------------------------------------------
    def inject(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self._injected.setdefault(path, []).extend(replies)

    def _dispatch(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            queued = self._injected.get(request.path)
            if queued:
                return queued.pop(0)
        return self.handle(request)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeService:
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
                    time.monotonic(),
                )
                if fake.latency:
                    time.sleep(fake.latency)
                reply = fake._dispatch(request)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.encoded()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
