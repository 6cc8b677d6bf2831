"""Between the HTTP layer and the one ingest path: events from a request become Lines, go
through `scrobble.service.ingest_lines` on one database thread, and the answer waits for the
commit. Now-playing and `--flush-every` run on a second thread with a runtime of their own, so
a slow service never holds up a webhook.

Every write goes through the one thread that owns the database connection: requests are
queued in arrival order, and each one's transaction is committed before its answer is sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrobctl.errors import LockHeld
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import IngestSummary
from scrobctl.scrobble.events import Event, Line, parse_one
from scrobctl.scrobble.rules import below_threshold
from scrobctl.serve.common import BadBody, Source

if TYPE_CHECKING:
    from scrobctl.scrobble.flush import FlushReport

Log = Callable[[str], None]


@dataclass
class Outcome:
    summary: IngestSummary
    events: list[Event] = field(default_factory=list)


def to_lines(events: list[dict[str, Any]]) -> list[Line]:
    """Each event checked by the `scrobctl scrobble` model; the first invalid one refuses the
    request (BadBody), so a request is recorded whole or not at all."""
    lines = [parse_one(json.dumps(e, ensure_ascii=False), n) for n, e in enumerate(events, 1)]
    for line in lines:
        if line.event is None:
            where = f"event {line.number}: " if len(lines) > 1 else ""
            raise BadBody(f"{where}{line.error}")
    return lines


class Receiver:
    def __init__(
        self,
        runtime_factory: Callable[[], Runtime],
        log: Log,
        flushed: Callable[[FlushReport], None],
    ) -> None:
        self._factory = runtime_factory
        self.log = log
        self._flushed = flushed  # renders a `--flush-every` round (the CLI's flush lines)
        self._db = ThreadPoolExecutor(1, thread_name_prefix="scrobctl-db")
        self._send = ThreadPoolExecutor(1, thread_name_prefix="scrobctl-send")
        self._runtime: Runtime | None = None  # used on the database thread only

    async def ingest(
        self,
        events: list[dict[str, Any]],
        source: Source,
        kind: str,
        rule: Callable[[Event], str | None] = below_threshold,
    ) -> Outcome:
        lines = to_lines(events)
        loop = asyncio.get_running_loop()
        outcome, starts, routes = await loop.run_in_executor(
            self._db, self._ingest, lines, kind, rule
        )
        if starts:
            loop.run_in_executor(self._send, self._now_playing, starts, routes)
        return outcome

    def _ingest(
        self, lines: list[Line], kind: str, rule: Callable[[Event], str | None]
    ) -> tuple[Outcome, dict[str, Event], dict[str, dict[str, list[str]]]]:
        from scrobctl.scrobble.service import ingest_lines

        if self._runtime is None:
            self._runtime = self._factory()
        result = ingest_lines(self._runtime, lines, source=f"serve:{kind}", rule=rule)
        for line in result.reconnect:
            self.log(f"warning: {line}")
        events = [line.event for line in lines if line.event is not None]
        return Outcome(result.summary, events), result.starts, result.routes

    def _now_playing(
        self, starts: dict[str, Event], routes: dict[str, dict[str, list[str]]]
    ) -> None:
        from scrobctl.scrobble.nowplaying import send_now_playing

        runtime = self._factory()
        try:
            results = asyncio.run(send_now_playing(runtime, starts, routes))
        except Exception as exc:  # a now-playing is never worth stopping the server for
            self.log(f"now playing not sent: {type(exc).__name__}: {exc}")
            return
        finally:
            runtime.close()
        for r in results:
            if r.error is not None:
                self.log(f"{r.service}: now playing not sent: {r.error}")

    async def flush(self) -> None:
        """One `flush`, under the same lock as cron's, on the sending thread."""
        await asyncio.get_running_loop().run_in_executor(self._send, self._flush)

    def _flush(self) -> None:
        from scrobctl.paths import DB_NAME
        from scrobctl.scrobble.flush import flush
        from scrobctl.store.probe import nothing_due

        runtime = self._factory()
        try:
            if nothing_due(runtime.data_dir / DB_NAME):
                return
            report = asyncio.run(flush(runtime))
        except LockHeld:
            self.log("flush: another `scrobctl flush` is running; trying again next time")
            return
        except Exception as exc:  # the next round tries again; the queue keeps the jobs
            self.log(f"flush failed: {type(exc).__name__}: {exc}")
            return
        finally:
            runtime.close()
        self._flushed(report)

    def close(self) -> None:
        """Wait for the request and the send in hand, then close the database."""
        self._send.shutdown(wait=True)

        def _close() -> None:
            if self._runtime is not None:
                self._runtime.close()

        self._db.submit(_close).result()
        self._db.shutdown(wait=True)
