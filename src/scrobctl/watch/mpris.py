"""`watch mpris`: follow MPRIS players through `playerctl --follow`.

Why playerctl rather than D-Bus directly: it is what MPRIS users already have and debug with, it
finds players as they appear and go, picks one by the same `--player` names users type
(`spotify`, `firefox`, `vlc,%any`), and tracks positions between `Seeked` signals (MPRIS sends
no change signal for `Position`); doing that here would mean a D-Bus library as a dependency
and playerctl's player selection rewritten. The cost is one Debian package, and lines to
parse (watch/playerctl.py).

Each line is one look at a player, handed to that player's tracker (the same rules as MPD).
When playerctl switches to another player, the one it left is ended: nothing more will be
heard of it. If playerctl exits (no D-Bus session yet, say), it is started again with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable

from scrobctl.clock import Clock
from scrobctl.errors import UsageError
from scrobctl.watch.playerctl import FORMAT, parse
from scrobctl.watch.sink import Sink
from scrobctl.watch.tracker import PlayTracker

RESTART_FIRST, RESTART_MAX = 1.0, 30.0


def command(player: str | None) -> list[str]:
    exe = shutil.which("playerctl")
    if exe is None:
        raise UsageError(
            "playerctl is not installed", "install it (Debian/Ubuntu: apt install playerctl)"
        )
    selection = ["--player", player] if player else []
    return [exe, *selection, "metadata", "--format", FORMAT, "--follow"]


class Players:
    """One tracker per player name, as lines arrive."""

    def __init__(self, sink: Sink, warn: Callable[[str], None]) -> None:
        self.sink = sink
        self.warn = warn
        self.trackers: dict[str, PlayTracker] = {}
        self._warned = False

    async def line(self, text: str, at: float) -> None:
        try:
            parsed = parse(text)
        except ValueError as exc:
            if not self._warned:
                self.warn(f"playerctl printed a line that cannot be read ({exc}); skipped")
                self._warned = True
            return
        if parsed is None:  # no player left
            await self.end_all(at)
            return
        for name in [n for n in self.trackers if n != parsed.player]:
            await self.sink.deliver(self.trackers.pop(name).finish(at))
        tracker = self.trackers.setdefault(parsed.player, PlayTracker())
        await self.sink.deliver(tracker.observe(parsed.snapshot(), at))

    async def end_all(self, at: float) -> None:
        for name in list(self.trackers):
            await self.sink.deliver(self.trackers.pop(name).finish(at))


async def watch(
    player: str | None,
    sink: Sink,
    clock: Clock,
    stop: asyncio.Event,
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    """Follow until `stop`, then end the open plays."""
    args = command(player)
    players = Players(sink, warn)
    delay = RESTART_FIRST
    while not stop.is_set():
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        say(f"following {player or 'the active MPRIS player'} through playerctl")
        assert proc.stdout is not None and proc.stderr is not None
        lines = 0
        try:
            while (raw := await _readline(proc.stdout, stop)) is not None:
                lines += 1
                await players.line(raw.decode("utf-8", "replace").rstrip("\r\n"), clock.now())
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
            problem = (await proc.stderr.read()).decode("utf-8", "replace").strip()
            await proc.wait()
        await players.end_all(clock.now())
        if stop.is_set():
            break
        delay = RESTART_FIRST if lines else min(delay * 2, RESTART_MAX)
        warn(f"playerctl exited ({problem or f'status {proc.returncode}'}); starting it again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


async def _readline(stream: asyncio.StreamReader, stop: asyncio.Event) -> bytes | None:
    """The next line, or None at the end of the output or once `stop` is set."""
    read = asyncio.ensure_future(stream.readline())
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({read, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if read not in done:
        read.cancel()
        return None
    stopping.cancel()
    return read.result() or None
