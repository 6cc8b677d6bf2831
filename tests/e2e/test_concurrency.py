"""Concurrent processes on one data folder (DESIGN.md "Queue semantics", "Exit codes").

Overlapping cron runs of `flush`: one sends, the others leave at once with exit 4 (or find
nothing left and exit 0); no job is lost and none is sent twice. `scrobble` runs while a `flush`
is busy on a slow service: SQLite waits for the other writer (busy timeout) instead of failing
with "database is locked", every play is queued, and a last flush sends each exactly once.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT, Cli, jsonl, status_json, wait_until
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.server import Reply, Request

SUBMIT = "/1/submit-listens"
DAY = 86_400
LOCKED = "another `scrobctl flush` is running"


def tracks(count: int, *, first: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "title": f"{prefix} {i:05d}",
            "artist": "The Parallels",
            "album": "Race",
            "duration_ms": 200_000,
            "watched_ms": 150_000,
            "watched_at": first + i * 300,
        }
        for i in range(count)
    ]


def sent(fake: FakeListenBrainz) -> Counter[tuple[str, int]]:
    """Every listen the fake accepted, resends counted."""
    with fake.lock:
        return Counter((x["track_metadata"]["track_name"], x["listened_at"]) for x in fake.accepted)


def keys(events: list[dict[str, Any]]) -> Counter[tuple[str, int]]:
    return Counter((e["title"], e["watched_at"]) for e in events)


def submits(fake: FakeListenBrainz) -> int:
    with fake.lock:
        return sum(1 for r in fake.requests if r.path == SUBMIT)


class SlowSubmit:
    """Every submit-listens request takes `delay` seconds before it is answered."""

    def __init__(self, fake: FakeListenBrainz, delay: float) -> None:
        self._original = fake.handle
        self.delay = delay
        fake.handle = self._handle  # type: ignore[method-assign]

    def _handle(self, request: Request) -> Reply:
        if request.path == SUBMIT:
            time.sleep(self.delay)
        return self._original(request)


@pytest.fixture
def start_with_input(
    scrobctl_bin: Path, cli_env: dict[str, str]
) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start scrobctl with `data` on stdin, written by a thread so a full pipe never blocks."""
    started: list[tuple[subprocess.Popen[str], threading.Thread]] = []

    def start(*args: str, data: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [str(scrobctl_bin), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # scrobble prints its summary on stderr
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env,
        )

        def feed() -> None:
            assert proc.stdin is not None
            try:
                proc.stdin.write(data)
                proc.stdin.close()
            except BrokenPipeError:
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        started.append((proc, writer))
        return proc

    yield start
    for proc, writer in started:
        if proc.poll() is None:
            proc.kill()
        writer.join(timeout=TIMEOUT)
        proc.wait(timeout=TIMEOUT)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for a process started by popen_cli or start_with_input; its exit code and stderr."""
    assert proc.stderr is not None
    err = proc.stderr.read()  # stdout carries nothing here: it cannot fill up meanwhile
    if proc.stdout is not None:
        proc.stdout.read()
    proc.wait(timeout=TIMEOUT)
    return proc.returncode, err


# -- overlapping flushes --------------------------------------------------------------------


@pytest.mark.parametrize("runs", [2, 5])
def test_flushes_started_together_send_each_listen_once_and_the_others_exit_4_or_0(
    cli: Cli,
    logged_in: Any,
    fake_lb: FakeListenBrainz,
    popen_cli: Callable[..., subprocess.Popen[str]],
    runs: int,
) -> None:
    events = tracks(1500, first=int(time.time()) - 20 * DAY, prefix="Overlap")
    assert cli("scrobble", input=jsonl(events)).returncode == 0
    SlowSubmit(fake_lb, 0.5)  # the winner is still sending when the others start

    procs = [popen_cli("flush") for _ in range(runs)]
    results = [finish(proc) for proc in procs]

    codes = sorted(code for code, _ in results)
    assert set(codes) <= {0, 4}, results
    assert codes.count(0) >= 1, results
    for code, err in results:
        assert "Traceback" not in err
        assert "database is locked" not in err
        if code == 4:
            assert err.strip().splitlines() == [err.strip()], "more than one line"
            assert LOCKED in err
    assert sent(fake_lb) == keys(events), "a listen was lost or sent twice"
    queue = status_json(cli)["queue"]["listenbrainz"]
    assert queue["completed"] == len(events)
    assert sum(queue.values()) == len(events)


def test_second_flush_while_the_first_is_mid_request_exits_4_at_once_and_sends_nothing(
    cli: Cli,
    logged_in: Any,
    fake_lb: FakeListenBrainz,
    popen_cli: Callable[..., subprocess.Popen[str]],
) -> None:
    events = tracks(20, first=int(time.time()) - 2 * DAY, prefix="Busy")
    assert cli("scrobble", input=jsonl(events)).returncode == 0
    release = threading.Event()
    original = fake_lb.handle

    def held(request: Request) -> Reply:
        if request.path == SUBMIT:
            release.wait(TIMEOUT)
        return original(request)

    fake_lb.handle = held  # type: ignore[method-assign]
    first = popen_cli("flush")
    wait_until(lambda: submits(fake_lb) >= 1 or first.poll() is not None)
    assert first.poll() is None, "the first flush ended before its request was held"

    try:
        second = cli("flush")
    finally:
        release.set()

    assert second.returncode == 4
    assert [line for line in second.stderr.splitlines() if line.strip()] == [second.stderr.strip()]
    assert LOCKED in second.stderr
    assert submits(fake_lb) == 1, "the second flush sent something"
    code, err = finish(first)
    assert code == 0, err
    assert sent(fake_lb) == keys(events)


# -- scrobble while flush runs --------------------------------------------------------------


def test_scrobbles_piping_2000_events_during_a_slow_flush_queue_everything_and_lock_nothing(
    cli: Cli,
    logged_in: Any,
    fake_lb: FakeListenBrainz,
    popen_cli: Callable[..., subprocess.Popen[str]],
    start_with_input: Callable[..., subprocess.Popen[str]],
) -> None:
    first = int(time.time()) - 30 * DAY
    queued_before = tracks(3000, first=first, prefix="Before")
    assert cli("scrobble", input=jsonl(queued_before)).returncode == 0
    SlowSubmit(fake_lb, 0.4)
    flushing = popen_cli("flush")
    wait_until(lambda: submits(fake_lb) >= 1 or flushing.poll() is not None)
    assert flushing.poll() is None, "the flush ended before the scrobbles started"
    # Two pipelines at once, each 2,000 new plays (two commits of 1,000 lines each).
    batches = [
        tracks(2000, first=first + 7, prefix="During A"),
        tracks(2000, first=first + 11, prefix="During B"),
    ]

    scrobbles = [start_with_input("scrobble", data=jsonl(events)) for events in batches]
    results = [finish(proc) for proc in scrobbles]
    flush_code, flush_err = finish(flushing)

    for _code, err in [*results, (flush_code, flush_err)]:
        assert "database is locked" not in err
        assert "Traceback" not in err
    for code, err in results:
        assert code == 0, err
        assert "queued 2000" in err
        assert "invalid 0" in err
    assert flush_code == 0, flush_err
    status = status_json(cli)
    assert status["plays"] == 3000 + 4000
    final = cli("flush")
    assert final.returncode == 0, final.stderr
    everything = queued_before + batches[0] + batches[1]
    assert sent(fake_lb) == keys(everything), "a play was lost or sent twice"
    queue = status_json(cli)["queue"]["listenbrainz"]
    assert queue["completed"] == len(everything)
    assert sum(queue.values()) == len(everything)


def test_scrobbles_and_a_flush_started_together_again_and_again_never_fail(
    cli: Cli,
    logged_in: Any,
    fake_lb: FakeListenBrainz,
    popen_cli: Callable[..., subprocess.Popen[str]],
    start_with_input: Callable[..., subprocess.Popen[str]],
) -> None:
    """A flush every minute from cron and a player hook collide often: neither may fail."""
    events = tracks(500, first=int(time.time()) - 5 * DAY, prefix="Collide")
    results = []
    for round_ in range(3):
        chunk = events[round_ * 100 : (round_ + 1) * 100]
        procs = [
            start_with_input("scrobble", data=jsonl(chunk)),
            popen_cli("flush"),
            start_with_input("scrobble", data=jsonl(chunk)),
        ]
        results += [finish(proc) for proc in procs]

    for code, err in results:
        assert code in (0, 4), err
        assert "database is locked" not in err
        assert "Traceback" not in err
    final = cli("flush")
    assert final.returncode == 0, final.stderr
    assert sent(fake_lb) == keys(events[:300])
