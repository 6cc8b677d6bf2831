"""Running the receiver: uvicorn on a socket bound here (so `--port 0` works and the address is
printed before the first request), the `--flush-every` loop, and a clean stop.

uvicorn is the maintained reference ASGI server: on SIGTERM or SIGINT it stops accepting
connections, lets the requests in hand finish, then runs the application's shutdown, which here
waits for the flush or now-playing in hand and closes the database. Its access log is off,
since webhooks carry their token in the query string; `app` logs each request without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from scrobctl.runtime import Runtime
from scrobctl.serve.receiver import Log, Receiver
from scrobctl.serve.tokens import ServeTokens

if TYPE_CHECKING:
    from scrobctl.scrobble.flush import FlushReport


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; OSError (port in use, no such address) is the caller's to report."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(
    runtime_factory: Callable[[], Runtime],
    tokens: ServeTokens,
    sock: socket.socket,
    *,
    flush_every: float | None,
    log: Log,
    flushed: Callable[[FlushReport], None],
    log_arrivals: bool = False,
) -> None:
    """Serve until SIGTERM or SIGINT; returns after a clean stop."""
    import uvicorn

    from scrobctl.serve.app import build_app

    receiver = Receiver(runtime_factory, log, flushed)

    @contextlib.asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        task = asyncio.create_task(_flush_loop(receiver, flush_every)) if flush_every else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.get_running_loop().run_in_executor(None, receiver.close)

    app = build_app(receiver, tokens, log, log_arrivals=log_arrivals)
    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=None,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal it caught once it has stopped; a handler of our own turns
    # that into a normal return (exit 0) instead of death by SIGTERM.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
    log("stopped; every acknowledged play is in the queue")


async def _flush_loop(receiver: Receiver, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await receiver.flush()
