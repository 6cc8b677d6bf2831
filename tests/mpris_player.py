# ruff: noqa: F821, F722  (the annotations are D-Bus signatures, which dbus-fast reads)
"""A scripted MPRIS player on a private D-Bus session, for the tests of `watch mpris` and
`scrobble --format playerctl` through the real playerctl.

It implements what playerctl reads (MPRIS 2.2, specifications.freedesktop.org/mpris-spec:
org.mpris.MediaPlayer2 and org.mpris.MediaPlayer2.Player): `PlaybackStatus`, `Metadata`
(`mpris:trackid`, `mpris:length` in microseconds, `xesam:title`, `xesam:artist` as a list,
`xesam:album`), `Position` computed from the clock while playing (MPRIS sends no change signal
for it), `Rate`, the `Can*` flags, `PropertiesChanged` for status and metadata, and `Seeked`.
The test drives it from its own thread: `load`, `play`, `pause`, `seek`, `stop`.

(No `from __future__ import annotations` here: dbus-fast reads the D-Bus signatures from the
annotations.)
"""

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NAME = "scrobctltest"
BUS_NAME = f"org.mpris.MediaPlayer2.{NAME}"
PATH = "/org/mpris/MediaPlayer2"


@contextmanager
def private_session_bus(home: Path) -> Iterator[dict[str, str]]:
    """A dbus-daemon of our own (as tests/secret_service.py starts one); yields its env."""
    if not shutil.which("dbus-daemon"):
        if os.environ.get("CI"):
            pytest.fail("needs dbus-daemon (apt-get install dbus)")
        pytest.skip("needs dbus-daemon (apt-get install dbus)")
    started = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        check=True,
    )
    address, pid = started.stdout.split()[:2]
    try:
        yield {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": str(home)}
    finally:
        os.kill(int(pid), signal.SIGTERM)


def _interfaces():  # built lazily: dbus-fast is a test dependency, imported only here
    from dbus_fast import PropertyAccess, Variant
    from dbus_fast.service import ServiceInterface, dbus_property, method
    from dbus_fast.service import signal as dbus_signal

    class Root(ServiceInterface):
        def __init__(self) -> None:
            super().__init__("org.mpris.MediaPlayer2")

        @method()
        def Raise(self) -> None:
            pass

        @method()
        def Quit(self) -> None:
            pass

        @dbus_property(access=PropertyAccess.READ)
        def CanQuit(self) -> "b":
            return False

        @dbus_property(access=PropertyAccess.READ)
        def CanRaise(self) -> "b":
            return False

        @dbus_property(access=PropertyAccess.READ)
        def HasTrackList(self) -> "b":
            return False

        @dbus_property(access=PropertyAccess.READ)
        def Identity(self) -> "s":
            return "scrobctl test player"

        @dbus_property(access=PropertyAccess.READ)
        def SupportedUriSchemes(self) -> "as":
            return ["file"]

        @dbus_property(access=PropertyAccess.READ)
        def SupportedMimeTypes(self) -> "as":
            return ["audio/wav"]

    class Player(ServiceInterface):
        def __init__(self) -> None:
            super().__init__("org.mpris.MediaPlayer2.Player")
            self.status = "Stopped"
            self.metadata: dict = {}
            self.base = 0  # microseconds at `since`
            self.since = time.monotonic()

        def position(self) -> int:
            if self.status != "Playing":
                return self.base
            return self.base + int((time.monotonic() - self.since) * 1_000_000)

        def set_position(self, micros: int) -> None:
            self.base, self.since = micros, time.monotonic()

        def set_status(self, status: str) -> None:
            self.set_position(self.position())
            self.status = status
            self.emit_properties_changed({"PlaybackStatus": status})

        def set_metadata(self, metadata: dict) -> None:
            self.metadata = metadata
            self.set_position(0)
            self.emit_properties_changed({"Metadata": metadata})

        @dbus_signal()
        def Seeked(self, position: "x") -> "x":
            return position

        @method()
        def Next(self) -> None:
            pass

        @method()
        def Previous(self) -> None:
            pass

        @method()
        def Pause(self) -> None:
            self.set_status("Paused")

        @method()
        def PlayPause(self) -> None:
            self.set_status("Paused" if self.status == "Playing" else "Playing")

        @method()
        def Stop(self) -> None:
            self.set_status("Stopped")

        @method()
        def Play(self) -> None:
            self.set_status("Playing")

        @method()
        def Seek(self, offset: "x") -> None:
            self.set_position(max(0, self.position() + offset))
            self.Seeked(self.position())

        @method()
        def SetPosition(self, track_id: "o", position: "x") -> None:
            self.set_position(position)
            self.Seeked(position)

        @method()
        def OpenUri(self, uri: "s") -> None:
            pass

        @dbus_property(access=PropertyAccess.READ)
        def PlaybackStatus(self) -> "s":
            return self.status

        @dbus_property(access=PropertyAccess.READ)
        def Rate(self) -> "d":
            return 1.0

        @dbus_property(access=PropertyAccess.READ)
        def MinimumRate(self) -> "d":
            return 1.0

        @dbus_property(access=PropertyAccess.READ)
        def MaximumRate(self) -> "d":
            return 1.0

        @dbus_property(access=PropertyAccess.READ)
        def Metadata(self) -> "a{sv}":
            return self.metadata

        @dbus_property(access=PropertyAccess.READ)
        def Volume(self) -> "d":
            return 1.0

        @dbus_property(access=PropertyAccess.READ)
        def Position(self) -> "x":
            return self.position()

        @dbus_property(access=PropertyAccess.READ)
        def CanGoNext(self) -> "b":
            return True

        @dbus_property(access=PropertyAccess.READ)
        def CanGoPrevious(self) -> "b":
            return True

        @dbus_property(access=PropertyAccess.READ)
        def CanPlay(self) -> "b":
            return True

        @dbus_property(access=PropertyAccess.READ)
        def CanPause(self) -> "b":
            return True

        @dbus_property(access=PropertyAccess.READ)
        def CanSeek(self) -> "b":
            return True

        @dbus_property(access=PropertyAccess.READ)
        def CanControl(self) -> "b":
            return True

    return Root, Player, Variant


class ScriptedPlayer:
    """The player, served from a thread with its own event loop; the methods are the test's
    remote control and return once the player has acted."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.player = None
        self.bus = None
        self.tracks = 0

    def __enter__(self) -> "ScriptedPlayer":
        self.thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def _call(self, coro):  # -> result
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    async def _start(self) -> None:
        from dbus_fast.aio import MessageBus

        root_cls, player_cls, self._variant = _interfaces()
        self.bus = await MessageBus(bus_address=self.address).connect()
        self.player = player_cls()
        self.bus.export(PATH, root_cls())
        self.bus.export(PATH, self.player)
        await self.bus.request_name(BUS_NAME)

    async def _stop(self) -> None:
        self.bus.disconnect()

    async def _do(self, action) -> None:
        action()

    def load(self, title: str, artist: str, seconds: int, album: str = "Silence") -> None:
        """A new track, stopped at 0 until `play`."""
        self.tracks += 1
        v = self._variant
        metadata = {
            "mpris:trackid": v("o", f"/org/scrobctl/track/{self.tracks}"),
            "mpris:length": v("x", seconds * 1_000_000),
            "xesam:title": v("s", title),
            "xesam:artist": v("as", [artist]),
            "xesam:album": v("s", album),
        }
        self._call(self._do(lambda: self.player.set_metadata(metadata)))

    def play(self) -> None:
        self._call(self._do(lambda: self.player.set_status("Playing")))

    def pause(self) -> None:
        self._call(self._do(lambda: self.player.set_status("Paused")))

    def stop(self) -> None:
        self._call(self._do(lambda: self.player.set_status("Stopped")))

    def seek(self, seconds: float) -> None:
        """Jump to `seconds` (SetPosition) and send Seeked, as players do."""

        def act() -> None:
            self.player.set_position(int(seconds * 1_000_000))
            self.player.Seeked(self.player.position())

        self._call(self._do(act))

    def position(self) -> float:
        return self.player.position() / 1_000_000
