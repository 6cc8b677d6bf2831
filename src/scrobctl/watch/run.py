"""Running a watcher: signals, the sink, and the optional flush loop around one follow function."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from scrobctl.runtime import Runtime
from scrobctl.scrobble.flush import FlushReport
from scrobctl.scrobble.nowplaying import NowPlayingResult
from scrobctl.watch.sink import Outcome, Sink, flush_every

Follow = Callable[[Sink, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Render:
    """How the CLI shows what happens (the watcher itself prints nothing)."""

    say: Callable[[str], None]
    warn: Callable[[str], None]
    play: Callable[[Outcome], None]
    now_playing: Callable[[dict[str, Any], list[NowPlayingResult]], None]
    flushed: Callable[[FlushReport | None], None]


def _sink(runtime: Runtime, source: str, render: Render) -> Sink:
    """The sink a watcher and a hook both feed, reporting through `render`."""
    return Sink(
        runtime,
        source,
        on_play=render.play,
        on_now_playing=render.now_playing,
        warn=render.warn,
    )


async def run(
    runtime: Runtime,
    source: str,
    follow: Follow,
    render: Render,
    *,
    flush_interval: float | None = None,
) -> None:
    """Follow until SIGINT or SIGTERM; then the open play is ended and ingested, and the
    now-playing requests in flight are given a moment to finish."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sink = _sink(runtime, source, render)
    flusher = None
    if flush_interval:
        flusher = asyncio.create_task(flush_every(runtime, flush_interval, stop, render.flushed))
    try:
        await follow(sink, stop)
    finally:
        stop.set()
        if flusher is not None:
            await flusher
        await sink.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def deliver_once(
    runtime: Runtime, source: str, events: list[dict[str, Any]], render: Render
) -> None:
    """A hook's one call: hand its events over and wait for their now-playing requests."""
    sink = _sink(runtime, source, render)
    await sink.deliver(events)
    await sink.close()
