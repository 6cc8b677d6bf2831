"""End to end: long flushes show themselves, and Ctrl-C says what was kept (issue 17)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import GOOD_TOKEN, TIMEOUT, Cli, jsonl, track_events, wait_until
from tests.fakes.listenbrainz import FakeListenBrainz


@pytest.fixture
def slow_lb(cli_env: dict[str, str]) -> Iterator[FakeListenBrainz]:
    """ListenBrainz taking a second per request: a flush of 2,500 listens takes three."""
    fake = FakeListenBrainz(latency=1.0)
    with fake:
        cli_env["SCROBCTL_LISTENBRAINZ__API_URL"] = fake.url
        yield fake


def test_flush_without_a_terminal_prints_a_line_per_batch(
    cli: Cli, logged_in: object, fake_lb: FakeListenBrainz
) -> None:
    assert cli("scrobble", input=jsonl(track_events(2500))).returncode == 0

    result = cli("flush", timeout=120)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "flushing listenbrainz: 1000 of 2500 done (1000 sent)" in lines
    assert "flushing listenbrainz: 2000 of 2500 done (2000 sent)" in lines
    assert "listenbrainz: 2500 sent in 3 requests" in lines
    assert not any(line.startswith("flushing") for line in cli("-q", "flush").stderr.splitlines())


def test_ctrl_c_in_flush_says_what_was_kept_and_exits_130(
    scrobctl_bin: Path, cli: Cli, cli_env: dict[str, str], slow_lb: FakeListenBrainz
) -> None:
    login = cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n")
    assert login.returncode == 0, login.stderr
    assert cli("scrobble", input=jsonl(track_events(2500))).returncode == 0
    proc = subprocess.Popen(
        [str(scrobctl_bin), "flush"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
    )
    try:
        wait_until(lambda: len(slow_lb.received()) >= 1000, timeout=TIMEOUT)
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 130, stderr
    assert "flush interrupted:" in stderr
    assert "nothing is lost" in stderr and "Run `scrobctl flush` to continue" in stderr
    again = cli("flush", timeout=120)
    assert again.returncode == 0, again.stderr
    assert len({listen["listened_at"] for listen in slow_lb.received()}) == 2500


def test_flush_on_a_terminal_shows_a_progress_bar_per_target_not_lines(
    cli: Cli,
    logged_in: object,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
) -> None:
    """stderr a real pseudo-terminal: Rich draws the bar (the target, done of total)."""
    import pty

    from tests.e2e.test_scrobble_tty_e2e import read_until

    assert cli("scrobble", input=jsonl(track_events(2500))).returncode == 0
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(scrobctl_bin), "flush"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**cli_env, "COLUMNS": "100"},
    )
    os.close(slave)
    try:
        shown = read_until(master, b"listenbrainz: 2500 sent in 3 requests", timeout=120)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)

    text = shown.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "listenbrainz" in text and "2500/2500" in text, text
    assert "flushing listenbrainz:" not in text  # the plain lines are for no terminal
    assert len(fake_lb.submissions) == 3
