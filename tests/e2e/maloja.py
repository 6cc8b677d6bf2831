"""A real Maloja (PyPI `malojaserver`) for the end-to-end tests, in a virtual environment of its
own, on a free port of 127.0.0.1, with its own data folder.

How to run it comes from api-notes/corrections-2026-12.md item 17: the MALOJA_* environment below
skips the interactive setup, turns off every outside metadata provider and statistics, and
`apikeys.yml` (`name: key` lines) holds the API key that is its ListenBrainz token and its
audioscrobbler password. Ready once `/apis/mlj_1/serverinfo` answers. What it stored is read from
its own database file (`malojadb.sqlite`, table `scrobbles` keyed by `timestamp`, see
maloja/database/sqldb.py), never from scrobctl.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

VERSION = "3.2.3"
API_KEY = "scrobctl-e2e-maloja-key"
START_TIMEOUT = 60.0
INSTALL_TIMEOUT = 600.0


def _venv_dir() -> Path:
    """Cached across runs and workers, keyed by Maloja's version and this Python's."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    base = Path(os.environ.get("SCROBCTL_TEST_CACHE", "/tmp"))
    return base / f"scrobctl-test-malojaserver-{VERSION}-{tag}"


def install() -> Path:
    """The venv's `maloja` program, installing malojaserver first if this machine lacks it.
    Skips (saying why) only when the package index cannot give it."""
    root = _venv_dir()
    program = root / "bin" / "maloja"
    done = root / ".installed"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker installs, the others wait
        if done.exists() and program.exists():
            return program
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
        result = subprocess.run(
            [str(root / "bin" / "pip"), "install", "-q", f"malojaserver=={VERSION}"],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if result.returncode != 0 or not program.exists():
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(
                f"malojaserver {VERSION} cannot be installed from the package index: {tail}"
            )
        done.touch()
        return program


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Stored:
    timestamp: int
    artists: tuple[str, ...]
    title: str


class Maloja:
    def __init__(self, program: Path, data: Path) -> None:
        self.program = program
        self.data = data
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        data.mkdir(parents=True, exist_ok=True)
        (data / "apikeys.yml").write_text(f"scrobctl: {API_KEY}\n", encoding="utf-8")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def listenbrainz_url(self) -> str:
        return self.url + "/apis/listenbrainz"

    @property
    def audioscrobbler_url(self) -> str:
        # The handler's aliases are "audioscrobbler/2.0" (maloja/apis/audioscrobbler.py l.9-13);
        # a bare /apis/audioscrobbler answers 404 "Invalid API".
        return self.url + "/apis/audioscrobbler/2.0/"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALOJA_")}
        env.update(
            {
                "MALOJA_DATA_DIRECTORY": str(self.data),
                "MALOJA_HOST": "127.0.0.1",
                "MALOJA_PORT": str(self.port),
                "MALOJA_SKIP_SETUP": "yes",
                "MALOJA_FORCE_PASSWORD": "scrobctl-e2e-admin",
                "MALOJA_METADATA_PROVIDERS": "none",
                "MALOJA_SEND_STATS": "false",
                "MALOJA_SCROBBLE_LASTFM": "false",
                "MALOJA_LASTFM_API_KEY": "false",
                "MALOJA_SPOTIFY_API_ID": "false",
                "MALOJA_SPOTIFY_API_SECRET": "false",
                "MALOJA_AUDIODB_API_KEY": "false",
                "MALOJA_OTHER_MALOJA_API_KEY": "false",
            }
        )
        return env

    def start(self) -> None:
        log = open(self.data / "maloja-run.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [str(self.program), "run"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"maloja exited at start:\n{self.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(self.url + "/apis/mlj_1/serverinfo", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"maloja did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        path = self.data / "maloja-run.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-30:]) if path.exists() else ""
        )

    def scrobbles(self, artist: str) -> list[Stored]:
        """Every scrobble of `artist` in Maloja's own database, oldest first."""
        conn = sqlite3.connect(f"file:{self.data / 'malojadb.sqlite'}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT s.timestamp, group_concat(a.name, '|'), t.title FROM scrobbles s"
                " JOIN tracks t ON t.id = s.track_id"
                " JOIN trackartists ta ON ta.track_id = t.id"
                " JOIN artists a ON a.id = ta.artist_id"
                " GROUP BY s.timestamp HAVING sum(a.name = ?) > 0 ORDER BY s.timestamp",
                (artist,),
            ).fetchall()
        finally:
            conn.close()
        return [Stored(ts, tuple(names.split("|")), title) for ts, names, title in rows]
