"""Where every watcher's events go: the one ingest path, one play at a time, and now-playing.

A watcher never writes plays or jobs itself. Each event is serialised to the stdin contract and
parsed back with `parse_one`, so a watched play is judged exactly like a piped one: thresholds,
duplicates, routing. Start events are announced in the background, so a slow service never
holds up the watcher's next look at its player.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from scrobctl.errors import LockHeld
from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event, parse_one
from scrobctl.scrobble.flush import FlushReport, flush
from scrobctl.scrobble.nowplaying import NowPlayingResult, send_now_playing
from scrobctl.scrobble.rules import NeedsDuration, below_threshold
from scrobctl.scrobble.service import ingest_lines

ANNOUNCE_WAIT = 15.0  # seconds to let pending now-playing requests finish when stopping


@dataclass(frozen=True)
class Outcome:
    """What became of one finished play: `queued`, `below threshold`, `duplicate`, `recorded`
    (no service takes it) or `invalid`, with the reason where there is one."""

    event: dict[str, Any]
    verdict: str
    reason: str | None = None


@dataclass(eq=False)
class Sink:
    """One watcher's way into the archive: `on_play` hears what became of each finished
    play, `on_now_playing` what the services said to a start, `warn` what went wrong."""

    runtime: Runtime
    source: str
    _: KW_ONLY
    on_play: Callable[[Outcome], None]
    on_now_playing: Callable[[dict[str, Any], list[NowPlayingResult]], None]
    warn: Callable[[str], None]
    _announcing: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)
    _waiting: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)

    async def deliver(self, events: list[dict[str, Any]]) -> None:
        """Ingest each event in order (a finished play before the next one's start). If the
        database cannot be written (locked past its busy timeout, disk full), the events wait
        and go first at the next delivery: a watcher outlives a long `import`."""
        waiting, self._waiting = [*self._waiting, *events], []
        for index, event in enumerate(waiting):
            try:
                self._ingest(event)
            except sqlite3.OperationalError as exc:
                self._waiting = waiting[index:]
                self.warn(f"cannot record plays now ({exc}); trying again at the next change")
                return

    def _ingest(self, event: dict[str, Any]) -> None:
        line = parse_one(json.dumps(event), 1)
        result = ingest_lines(self.runtime, [line], source=self.source)
        for message in result.reconnect:
            self.warn(message)
        if event.get("event") == "stop":
            self.on_play(_outcome(event, line.event, result.summary))
        elif result.starts:
            task = asyncio.create_task(self._announce(event, result.starts, result.routes))
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def _announce(
        self,
        event: dict[str, Any],
        starts: dict[str, Event],
        routes: dict[str, dict[str, list[str]]],
    ) -> None:
        results = await send_now_playing(self.runtime, starts, routes)
        self.on_now_playing(event, results)

    async def close(self) -> None:
        """Record what still waits, and let the now-playing requests in flight finish (each
        is bounded by HTTP timeouts)."""
        if self._waiting:
            await self.deliver([])
        if self._announcing:
            await asyncio.wait(set(self._announcing), timeout=ANNOUNCE_WAIT)


def _outcome(event: dict[str, Any], parsed: Event | None, summary: Any) -> Outcome:
    if summary.invalid:
        return Outcome(event, "invalid", summary.invalid[0][1])
    if summary.queued:
        return Outcome(event, "queued")
    if summary.below_threshold and parsed is not None:
        try:
            reason = below_threshold(parsed)
        except NeedsDuration as exc:
            reason = str(exc)
        return Outcome(event, "below threshold", reason)
    if summary.recorded_only:
        return Outcome(event, "recorded")
    return Outcome(event, "duplicate")


async def flush_every(
    runtime: Runtime,
    interval: float,
    stop: asyncio.Event,
    on_report: Callable[[FlushReport | None], None],
) -> None:
    """Send the queue every `interval` seconds until `stop`, under the same lock as cron's
    `flush` (a flush already running elsewhere is left to finish: `on_report(None)`). Each run
    has its own Runtime in a thread: its database connection never meets the watcher's."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        on_report(await asyncio.to_thread(_flush_once, runtime))


def _flush_once(parent: Runtime) -> FlushReport | None:
    runtime = Runtime(
        settings=parent.settings,
        warn=parent.warn,
        clock=parent.clock,
        http_client=parent.http_client,
    )
    try:
        return asyncio.run(flush(runtime))
    except LockHeld:
        return None
    finally:
        runtime.close()
