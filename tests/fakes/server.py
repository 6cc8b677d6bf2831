"""A small threaded HTTP server on 127.0.0.1 for end-to-end tests and benchmarks: the machinery
every fake shares, so that each fake holds only its server's behaviour.

Fakes subclass `FakeService` and implement `handle(request) -> Reply`. The base owns the request
plumbing and:
- logging: every request with its arrival time in `log`, the ones handled in `requests`, and
  `problems` for what a fake finds wrong with a request but answers anyway;
- latency: `latency` before each answer, `connect_latency` before the first request on each
  connection (the TCP + TLS handshake a real host takes; localhost takes none);
- faults: `inject(path, reply)` answers the next request to that path with the injected reply;
  `refuse(request, at)` (for a fake to override) answers before anything is processed, as a rate
  limit does; `hold(method, path, skip=n)` makes matching requests after the first n wait, once
  processed, until `.release` is set: the reply a killed client never reads.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

HOLD_TIMEOUT = 60.0  # a held reply goes out anyway after this, so no test hangs for ever


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


@dataclass
class Hold:
    method: str
    path: str
    skip: int = 0  # matching requests let through before holding starts
    seen: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    held: list[Request] = field(default_factory=list)


def parse_time(value: Any) -> float | None:
    """Unix seconds from an ISO-8601 datetime (or a plain date, UTC unless it says), else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a list a client sent; anything else holds none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def read_request(handler: BaseHTTPRequestHandler) -> Request:
    """The request the handler is serving, body read whole."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    parts = urlsplit(handler.path)
    return Request(
        handler.command,
        parts.path,
        parse_qs(parts.query),
        {k.lower(): v for k, v in handler.headers.items()},
        body,
        time.monotonic(),
    )


class FakeService:
    def __init__(self, latency: float = 0.0, connect_latency: float = 0.0) -> None:
        self.latency = latency
        self.connect_latency = connect_latency
        self.requests: list[Request] = []  # the requests processed (injected replies included)
        self.log: list[tuple[float, Request]] = []  # (time.monotonic() on arrival, request)
        self.problems: list[str] = []
        self.holds: list[Hold] = []
        self._injected: dict[str, list[Reply]] = {}
        self.lock = threading.Lock()
        self._connection = threading.local()  # one handler thread serves one connection
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override -------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def refuse(self, request: Request, at: float) -> Reply | None:
        """A reply that turns the request away unprocessed and uncounted (a 429), or None."""
        return None

    # -- scripting -----------------------------------------------------------------------
    def inject(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self._injected.setdefault(path, []).extend(replies)

    def hold(self, method: str, path: str, *, skip: int = 0) -> Hold:
        """Requests `method path` after the first `skip` are processed, then wait for
        `.release` before their reply goes out."""
        hold = Hold(method, path, skip)
        with self.lock:
            self.holds.append(hold)
        return hold

    # -- what arrived ----------------------------------------------------------------------
    def paths(self, method: str | None = None) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests if method is None or r.method == method]

    def _problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    # -- serving ---------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Reply:
        if self.connect_latency and not getattr(self._connection, "opened", False):
            time.sleep(self.connect_latency)
        self._connection.opened = True
        at = time.monotonic()
        with self.lock:
            self.log.append((at, request))
        refused = self.refuse(request, at)
        if refused is not None:
            return refused
        with self.lock:
            self.requests.append(request)
            queued = self._injected.get(request.path)
            reply = queued.pop(0) if queued else None
        if reply is None:
            reply = self.handle(request)
        self._hold(request)
        return reply

    def _hold(self, request: Request) -> None:
        wait = None
        with self.lock:
            for hold in self.holds:
                if (hold.method, hold.path) != (request.method, request.path):
                    continue
                hold.seen += 1
                if hold.seen > hold.skip and not hold.release.is_set():
                    hold.held.append(request)
                    wait = hold.release
        if wait is not None:
            wait.wait(timeout=HOLD_TIMEOUT)

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        """Serve one request on `handler`: read it, dispatch it, write the reply."""
        request = read_request(handler)
        if self.latency:
            time.sleep(self.latency)
        reply = self._dispatch(request)
        if reply.delay:
            time.sleep(reply.delay)
        data = reply.encoded()
        handler.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                fake.respond(self)

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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
