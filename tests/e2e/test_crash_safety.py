"""Crash safety end to end: a real `scrobctl flush` is SIGKILLed at each point of a send, then
`flush` runs again (DESIGN.md "Queue semantics"; the commit order in scrobble/flush.py).

The kill points, in the order a send goes through them:

- starting: right after the process is spawned, before it has done anything;
- after-claim: as soon as the database shows a claimed (`running`) job; the request, if it gets
  out, is dropped by the fake;
- on-arrival: the fake has the submit request and never processes it;
- held: the fake stored the plays and holds its reply for as long as the test wants;
- after-answer: the fake stored the plays and answered, while the test holds the database's write
  lock, so the client cannot record completion before it is killed.

Afterwards every play must be on the service exactly once. A play whose request reached the fake
before the kill may be received a second time only by ListenBrainz and Last.fm, which drop an
identical resend themselves; Trakt and Simkl keep duplicates, so there the second run must look
the plays up (/sync/history, /sync/all-items) and never send one twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    GOOD_TOKEN,
    TIMEOUT,
    Cli,
    fake_service_env,
    jsonl,
    log_in,
    status_json,
    wait_until,
)
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.server import Reply, Request
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt

DAY = 86_400
SERVICES = ("listenbrainz", "lastfm", "trakt", "simkl")
POINTS = ("starting", "after-claim", "on-arrival", "held", "after-answer")
DEDUPLICATING = frozenset({"listenbrainz", "lastfm"})
# Plays per service: one Last.fm batch and a part of the next; a single batch elsewhere, so that a
# rerun never needs two POSTs to Trakt or Simkl inside their one-a-second window.
PLAYS = {"listenbrainz": 30, "lastfm": 60, "trakt": 40, "simkl": 40}


# -- fakes that stop the first submit request where the test wants it --------------------------


class Gate:
    """What a gated fake does with the first submit request.

    drop: wait for `release`, then answer 503 without processing (nothing is stored).
    hold: process (store the plays), then wait for `release` before the reply goes out.
    answer: wait for `release`, then process and answer at once.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.arrived = threading.Event()
        self.processed = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self._taken = False
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._taken:
                return False
            self._taken = True
            return True


class Gated:
    """Mixin for a fake (listed before it): `gate` stops the first submit request."""

    gate: Gate | None = None

    def is_submit(self, request: Request) -> bool:
        raise NotImplementedError

    def _dispatch(self, request: Request) -> Reply:
        gate = self.gate
        if gate is None or not self.is_submit(request) or not gate.take():
            return super()._dispatch(request)  # type: ignore[misc]
        try:
            gate.arrived.set()
            if gate.mode == "drop":
                gate.release.wait(TIMEOUT)
                return Reply(503, {"error": "dropped by the test"})
            if gate.mode == "answer":
                gate.release.wait(TIMEOUT)
            reply = super()._dispatch(request)  # type: ignore[misc]
            gate.processed.set()
            if gate.mode == "hold":
                gate.release.wait(TIMEOUT)
            return reply
        finally:
            gate.done.set()


class GatedListenBrainz(Gated, FakeListenBrainz):
    def is_submit(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/1/submit-listens"


class GatedLastfm(Gated, FakeLastfm):
    def is_submit(self, request: Request) -> bool:
        return request.method == "POST" and b"method=track.scrobble" in request.body


class GatedTrakt(Gated, FakeTrakt):
    def is_submit(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/sync/history"


class GatedSimkl(Gated, FakeSimkl):
    def is_submit(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/sync/history"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def fake_lb() -> Iterator[GatedListenBrainz]:
    """Replaces conftest's fake_lb, so `cli_env` points ListenBrainz at the gated fake."""
    fake = GatedListenBrainz()
    with fake:
        yield fake


@pytest.fixture
def fake_trakt() -> Iterator[GatedTrakt]:
    fake = GatedTrakt(
        client_id="crash-trakt-id", client_secret="crash-trakt-secret", poll_statuses=[200]
    )
    with fake:
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[GatedSimkl]:
    fake = GatedSimkl(client_id="crash-simkl-id", pending_polls=0, interval=1)
    with fake:
        yield fake


@pytest.fixture
def fake_lastfm() -> Iterator[GatedLastfm]:
    fake = GatedLastfm(
        api_key="crash-lastfm-key", api_secret="crash-lastfm-secret", auto_approve_after=0
    )
    with fake:
        yield fake


@pytest.fixture(autouse=True)
def service_env(
    cli_env: dict[str, str],
    fake_trakt: GatedTrakt,
    fake_simkl: GatedSimkl,
    fake_lastfm: GatedLastfm,
) -> dict[str, str]:
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl, lastfm=fake_lastfm))
    return cli_env


# -- what each service received ------------------------------------------------------------------


def _ts(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def track(i: int, at: int) -> dict[str, Any]:
    return {
        "type": "track",
        "title": f"Crash Track {i:04d}",
        "artist": "The Killers",
        "album": "SIGKILL",
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": at,
    }


def movie(i: int, at: int) -> dict[str, Any]:
    return {
        "type": "movie",
        "title": f"Crash Movie {i:04d}",
        "year": 1999,
        "ids": {"tmdb": 700_000 + i},
        "duration_ms": 6_000_000,
        "percentage": 95,
        "watched_at": at,
    }


@dataclass
class Target:
    """The service under test: its fake, its plays, and how to read what reached it."""

    service: str
    fake: Any

    @property
    def deduplicates(self) -> bool:
        return self.service in DEDUPLICATING

    def events(self) -> list[dict[str, Any]]:
        start = int(time.time()) - 2 * DAY  # inside Last.fm's 14 days
        make = track if self.deduplicates else movie
        return [make(i, start + i * 900) for i in range(PLAYS[self.service])]

    @staticmethod
    def key(event: dict[str, Any]) -> tuple[Any, int]:
        name = event["title"] if event["type"] == "track" else event["ids"]["tmdb"]
        return name, event["watched_at"]

    def delivered(self) -> Counter[tuple[Any, int]]:
        """Every play the service accepted, resends counted."""
        fake = self.fake
        with fake.lock:
            if self.service == "listenbrainz":
                return Counter(
                    (x["track_metadata"]["track_name"], x["listened_at"]) for x in fake.accepted
                )
            if self.service == "trakt":
                return Counter(
                    (p.entry["movie"]["ids"]["tmdb"], _ts(p.entry["watched_at"]))
                    for p in fake.plays
                )
            if self.service == "simkl":
                return Counter((int(p.ids["tmdb"]), _ts(p.watched_at)) for p in fake.plays)
        return Counter((s.track, s.timestamp) for s in fake.accepted)

    def kept(self) -> Counter[tuple[Any, int]]:
        """The plays as the account shows them (the services that de-duplicate keep one)."""
        if self.service == "listenbrainz":
            return Counter(
                (x["track_metadata"]["track_name"], x["listened_at"]) for x in self.fake.received()
            )
        if self.service == "lastfm":
            return Counter((s.track, s.timestamp) for s in self.fake.stored())
        return self.delivered()

    def settle(self) -> None:
        """Trakt and Simkl refuse a second POST within a second: let the dead run's one age."""
        if self.deduplicates:
            return
        with self.fake.lock:
            posts = [
                at for at, r in self.fake.log if (r.method, r.path) == ("POST", "/sync/history")
            ]
        if posts:
            time.sleep(max(0.0, max(posts) + 1.1 - time.monotonic()))


@pytest.fixture(params=SERVICES)
def target(
    request: pytest.FixtureRequest,
    cli: Cli,
    fake_lb: GatedListenBrainz,
    fake_trakt: GatedTrakt,
    fake_simkl: GatedSimkl,
    fake_lastfm: GatedLastfm,
) -> Target:
    """Logged in (through the real CLI) to one service only, so only it gets the plays."""
    service = request.param
    log_in(cli, service)
    fakes = {
        "listenbrainz": fake_lb,
        "lastfm": fake_lastfm,
        "trakt": fake_trakt,
        "simkl": fake_simkl,
    }
    return Target(service, fakes[service])


# -- helpers -----------------------------------------------------------------------------------


def sigkill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, "the flush ended before it was killed"


def running_jobs(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM jobs WHERE state = 'running'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0  # busy for a moment: ask again


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Hold the database's write lock, as a long `scrobble` would: the flush cannot commit."""
    conn = sqlite3.connect(db, timeout=TIMEOUT, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()


def kill_flush_at(
    point: str, start: Callable[[], subprocess.Popen[str]], target: Target, db: Path
) -> None:
    """Start a flush and SIGKILL it at `point`; returns once the fake is done with the request."""
    mode = {"held": "hold", "after-answer": "answer"}.get(point, "drop")
    gate = Gate(mode)
    target.fake.gate = gate
    proc = start()
    if point == "starting":
        sigkill(proc)
    elif point == "after-claim":
        wait_until(lambda: running_jobs(db) > 0 or proc.poll() is not None, timeout=TIMEOUT)
        sigkill(proc)
    else:
        wait_until(lambda: gate.arrived.is_set() or proc.poll() is not None, timeout=TIMEOUT)
        assert proc.poll() is None, "the flush ended before its request reached the fake"
        if point == "on-arrival":
            sigkill(proc)
        elif point == "held":
            assert gate.processed.wait(TIMEOUT)
            sigkill(proc)
        else:
            with write_lock(db):
                gate.release.set()
                assert gate.processed.wait(TIMEOUT)
                time.sleep(0.3)  # let the reply reach the client; it cannot commit it anyway
                sigkill(proc)
    gate.release.set()
    if gate.arrived.is_set():
        assert gate.done.wait(TIMEOUT)
    target.fake.gate = None


# -- tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", POINTS)
def test_flush_killed_then_rerun_leaves_every_play_on_the_service_exactly_once(
    cli: Cli, popen_cli: Callable[..., subprocess.Popen[str]], target: Target, point: str
) -> None:
    events = target.events()
    scrobbled = cli("scrobble", input=jsonl(events))
    assert scrobbled.returncode == 0, scrobbled.stderr
    db = Path(status_json(cli)["database"])

    kill_flush_at(point, lambda: popen_cli("flush"), target, db)
    reached_before_rerun = target.delivered()
    target.settle()

    again = cli("flush")

    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    expected = Counter(target.key(e) for e in events)
    assert target.kept() == expected, "a play is missing, or kept twice"
    delivered = target.delivered()
    if target.deduplicates:
        assert set(delivered) == set(expected)
        resent = {key for key, n in delivered.items() if n > 1}
        assert resent <= set(reached_before_rerun), "resent a play the service never had"
        assert max(delivered.values()) <= 2
    else:
        assert delivered == expected, "Trakt/Simkl got a play twice (or not at all)"
        if point in ("held", "after-answer"):
            assert f"{len(events)} already there" in again.stderr
    if point in ("starting", "after-claim", "on-arrival"):
        assert reached_before_rerun == Counter(), "the fake stored a request it should not have"
        assert max(delivered.values()) == 1
    queue = status_json(cli)["queue"][target.service]
    assert queue["completed"] == len(events), queue
    assert sum(queue.values()) == len(events), queue


def test_scrobble_killed_mid_input_then_piped_again_queues_and_sends_each_play_once(
    cli: Cli,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
    fake_lb: GatedListenBrainz,
) -> None:
    login = cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n")
    assert login.returncode == 0, login.stderr
    start = int(time.time()) - 20 * DAY  # 3,000 plays five minutes apart: all in the past
    events = [track(i, start + i * 300) for i in range(3000)]
    lines = jsonl(events).splitlines(keepends=True)
    db = Path(status_json(cli)["database"])

    proc = subprocess.Popen(
        [str(scrobctl_bin), "scrobble"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
    )
    assert proc.stdin is not None

    def feed() -> None:
        try:  # 2,500 lines, and the pipe stays open: no more input is waiting
            proc.stdin.write("".join(lines[:2500]))  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        # What arrived is committed once no more input is waiting, the pipe still open.
        wait_until(lambda: plays_in(db) >= 2500 or proc.poll() is not None, timeout=TIMEOUT)
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
        writer.join(timeout=TIMEOUT)
        proc.communicate(timeout=TIMEOUT)
    assert status_json(cli)["plays"] == 2500

    again = cli("scrobble", input="".join(lines))

    assert again.returncode == 0, again.stderr
    assert "queued 500" in again.stderr
    assert "duplicate 2500" in again.stderr
    flushed = cli("flush")
    assert flushed.returncode == 0, flushed.stderr
    assert len(fake_lb.received()) == 3000
    sent = Counter((x["track_metadata"]["track_name"], x["listened_at"]) for x in fake_lb.accepted)
    assert set(sent.values()) == {1}
    assert status_json(cli)["queue"]["listenbrainz"]["completed"] == 3000


def plays_in(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM plays").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0
