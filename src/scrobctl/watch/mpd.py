"""`watch mpd`: follow MPD over its protocol with python-mpd2's asyncio client.

MPD protocol (MusicPlayerDaemon/MPD doc/protocol.rst): `idle player` returns when playback
starts, stops, seeks or the song's tags change; `status` gives `state` (play/pause/stop),
`elapsed` and `duration` in seconds (floats); `currentsong` gives the tags, where
`musicbrainz_trackid` is the recording MBID in Picard's mapping. A repeated tag comes back from
python-mpd2 as a list. On every change the watcher asks `status` and `currentsong` and hands
the snapshot to the shared tracker; a look every POLL seconds guards against a missed change.
When the connection drops (MPD restarted) the open play stops counting, and the watcher
reconnects with back-off: the same song still playing goes on as the same play.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from mpd import CommandError, ProtocolError
from mpd import ConnectionError as MPDConnectionError
from mpd.asyncio import MPDClient

from scrobctl.clock import Clock
from scrobctl.errors import UsageError
from scrobctl.watch.sink import Sink
from scrobctl.watch.tracker import PlayTracker, Snapshot, Song

POLL = 30.0  # seconds between looks when MPD reports nothing
CONNECT_TIMEOUT = 10.0
RECONNECT_FIRST, RECONNECT_MAX = 1.0, 30.0
LOST = (MPDConnectionError, ProtocolError, OSError, TimeoutError)


def _text(value: Any) -> str | None:
    """A tag's value; repeated tags (a list) are joined as players show them."""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    return str(value).strip() or None if value is not None else None


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() or None if value is not None else None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(_first(value) or "")
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def snapshot(status: dict[str, Any], song: dict[str, Any]) -> Snapshot:
    """One look at MPD as the tracker sees it. The song's key is its file: MPD gives songs new
    ids when it restarts, and a file queued twice in a row is told apart by its position."""
    state = {"play": "playing", "pause": "paused"}.get(status.get("state", ""), "stopped")
    file = _first(song.get("file"))
    if state == "stopped" or not file:
        return Snapshot("stopped", None)
    return Snapshot(
        state,
        Song(
            key=file,
            title=_text(song.get("title")),
            artist=_text(song.get("artist")) or _text(song.get("albumartist")),
            album=_text(song.get("album")),
            duration=_seconds(status.get("duration")) or _seconds(song.get("duration")),
            mbid=_first(song.get("musicbrainz_trackid")),
        ),
        _seconds(status.get("elapsed")),
    )


async def watch(
    host: str,
    port: int,
    sink: Sink,
    clock: Clock,
    stop: asyncio.Event,
    say: Callable[[str], None],
) -> None:
    """Follow MPD until `stop` is set, then end the open play. A host of the form
    `password@host` (as MPD_HOST is written for mpc) sends the password first."""
    password, _, host = host.rpartition("@") if "@" in host[1:] else ("", "", host)
    tracker = PlayTracker()
    delay = RECONNECT_FIRST
    reported_down = False
    while not stop.is_set():
        client = MPDClient()
        try:
            await asyncio.wait_for(client.connect(host, port), CONNECT_TIMEOUT)
            if password:
                await client.password(password)
        except CommandError as exc:
            client.disconnect()
            raise UsageError(f"MPD at {host}:{port} refused the password: {exc}") from None
        except LOST as exc:
            if not reported_down:
                say(f"MPD at {host}:{port} does not answer ({exc or type(exc).__name__}); retrying")
                reported_down = True
            await _sleep(stop, delay)
            delay = min(delay * 2, RECONNECT_MAX)
            continue
        say(f"following MPD {client.mpd_version} at {host}:{port}")
        delay, reported_down = RECONNECT_FIRST, False
        try:
            await _follow(client, tracker, sink, clock, stop)
        except CommandError as exc:
            raise UsageError(
                f"MPD at {host}:{port} refused a command: {exc}",
                "if it needs a password, give it as --host password@host",
            ) from None
        except LOST as exc:
            tracker.suspend(clock.now())
            say(f"lost MPD ({exc or type(exc).__name__}); reconnecting")
        finally:
            client.disconnect()
    await sink.deliver(tracker.finish(clock.now()))


async def _follow(
    client: MPDClient, tracker: PlayTracker, sink: Sink, clock: Clock, stop: asyncio.Event
) -> None:
    changes: asyncio.Queue[BaseException | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for _ in client.idle(["player"]):
                changes.put_nowait(None)
        except Exception as exc:  # the connection's end, handed to the loop below
            changes.put_nowait(exc)

    idle = asyncio.create_task(pump())
    try:
        while not stop.is_set():
            status = await client.status()
            song = await client.currentsong()
            await sink.deliver(tracker.observe(snapshot(status, song), clock.now()))
            change = await _next(changes, stop)
            if isinstance(change, BaseException):
                raise change
    finally:
        idle.cancel()


async def _next(changes: asyncio.Queue[BaseException | None], stop: asyncio.Event) -> Any:
    """The next change, or None after POLL seconds or once `stop` is set."""
    get = asyncio.ensure_future(changes.get())
    stopping = asyncio.ensure_future(stop.wait())
    done, pending = await asyncio.wait(
        {get, stopping}, timeout=POLL, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    return get.result() if get in done else None


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
