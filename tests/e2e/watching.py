"""Helpers for the watch tests: a watcher process whose stderr goes to a file, the queued plays
as rows of the database, and the now-playing requests a fake ListenBrainz received."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.listenbrainz import FakeListenBrainz
from tests.players import read_log

START_SLACK = 2  # seconds between the start a test saw and the one recorded (clock ticks, polls)


class Watcher:
    """`scrobctl watch ...` in the background; `stop` sends SIGTERM and waits for the exit."""

    def __init__(self, scrobctl: Path, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(scrobctl), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
            )

    def output(self) -> str:
        return read_log(self.log)

    def wait_for(self, text: str, timeout: float = 30.0, *, times: int = 1) -> None:
        """Until `text` has been printed `times` times."""
        deadline = time.monotonic() + timeout
        while self.output().count(text) < times:
            if self.proc.poll() is not None:
                pytest.fail(f"watcher exited {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not printed within {timeout} s:\n{self.output()}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def queued_plays(data_dir: Path) -> list[dict[str, Any]]:
    """Every recorded play with its item and its jobs' services, oldest first."""
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT p.id, p.watched_at, p.played_ms, p.duration_ms, p.source, i.title, i.artist,"
            " (SELECT group_concat(j.service) FROM jobs j WHERE j.play_id = p.id) AS services"
            " FROM plays p JOIN items i ON i.id = p.item_id ORDER BY p.watched_at, p.id"
        ).fetchall()
    finally:
        conn.close()
    return [dict(r) for r in rows]


def now_playing_titles(fake: FakeListenBrainz) -> list[str]:
    """Titles of the `playing_now` submissions, in the order they arrived."""
    titles = []
    with fake.lock:
        requests = list(fake.requests)
    for request in requests:
        if request.path != "/1/submit-listens" or not request.body:
            continue
        body = json.loads(request.body)
        if body.get("listen_type") == "playing_now":
            titles.append(body["payload"][0]["track_metadata"]["track_name"])
    return titles


def poll(read: Callable[[], Any], until: Callable[[Any], bool], timeout: float, what: str) -> Any:
    """Read every 0.1 s until the value satisfies `until`; fail naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout} s (last: {value!r})")
        time.sleep(0.1)
