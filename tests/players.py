"""Real players for the watch tests: generated silent audio files, a private MPD, and a check
that the Debian packages are there (.ci/run installs them; elsewhere the tests are skipped,
under CI a missing one is a failure)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

ARTIST = "The Testers"
ALBUM = "Silence"


def need(*programs: str) -> None:
    missing = [p for p in programs if not shutil.which(p)]
    if missing:
        message = f"needs {', '.join(missing)} (apt-get install {' '.join(missing)})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _info_chunk(tags: dict[str, str]) -> bytes:
    """A RIFF LIST/INFO chunk: INAM title, IART artist, IPRD album (libsndfile, which MPD's
    sndfile decoder uses, and ffmpeg, which mpv uses, both read these as tags)."""
    body = b"INFO"
    for key, value in tags.items():
        data = value.encode() + b"\0"
        data += b"\0" * (len(data) % 2)
        body += key.encode() + struct.pack("<I", len(data)) + data
    return b"LIST" + struct.pack("<I", len(body)) + body


def write_silent_wav(path: Path, seconds: int, title: str, rate: int = 8000) -> Path:
    """`seconds` of 8-bit mono silence at `rate` Hz with title, artist and album tags."""
    samples = b"\x80" * (rate * seconds)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += _info_chunk({"INAM": title, "IART": ARTIST, "IPRD": ALBUM})
    chunks += b"data" + struct.pack("<I", len(samples)) + samples
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mpd:
    """A private MPD on 127.0.0.1 with a null audio output (real-time: `sync` is on by
    default), its database of `music`, and a state file so that a restart resumes."""

    def __init__(self, home: Path, music: Path) -> None:
        need("mpd")
        self.home = home
        self.music = music
        self.port = free_port()
        self.conf = home / "mpd.conf"
        self.log = home / "mpd.log"
        self.conf.write_text(
            f'music_directory "{music}"\n'
            f'db_file "{home / "mpd.db"}"\n'
            f'state_file "{home / "mpd.state"}"\n'
            'bind_to_address "127.0.0.1"\n'
            f'port "{self.port}"\n'
            'audio_output {\n  type "null"\n  name "null"\n  mixer_type "none"\n}\n'
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Mpd:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                ["mpd", "--no-daemon", "--stderr", str(self.conf)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                client = self.client()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"mpd did not start: {self.log.read_text()}") from None
                time.sleep(0.05)
        client.update()
        while "updating_db" in client.status():
            time.sleep(0.05)
        client.disconnect()
        return self

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it (MPD writes its state file first)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def client(self):  # -> mpd.MPDClient
        from mpd import MPDClient

        client = MPDClient()
        client.timeout = 10
        client.connect("127.0.0.1", self.port)
        return client

    def __enter__(self) -> Mpd:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class MpvIpc:
    """mpv's JSON IPC (--input-ipc-server): one command at a time, answers matched by id."""

    def __init__(self, path: Path, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(10)
        self.buffer = b""
        self.next_id = 0

    def command(self, *args: object) -> object:
        self.next_id += 1
        request = {"command": list(args), "request_id": self.next_id}
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("mpv closed its IPC socket")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            reply = json.loads(line)
            if reply.get("request_id") == self.next_id:
                return reply.get("data") if reply.get("error") == "success" else None

    def get(self, name: str) -> object:
        return self.command("get_property", name)

    def close(self) -> None:
        self.sock.close()
