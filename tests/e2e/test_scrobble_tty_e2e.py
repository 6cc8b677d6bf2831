"""`scrobble` with a terminal on standard input says it is waiting for events (issue 17 item 8):
the installed command under a real pseudo-terminal, fed an event and then Ctrl-D."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import Cli, status_json

WAITING = (
    "waiting for playback events on standard input, one JSON object per line;"
    " end with Ctrl-D (see `scrobctl scrobble --help`)"
)
TIMEOUT = 60.0


def read_until(fd: int, wanted: bytes, timeout: float = TIMEOUT, seen: bytes = b"") -> bytes:
    """What `fd` gives until `wanted` is in it, counting what was `seen` before it (or the
    time is up)."""
    before = len(seen)
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: a pty's other side has closed (the command exited)
                break
            if not chunk:
                break
            seen += chunk
    return seen[before:]


def test_scrobble_on_a_terminal_says_it_is_waiting_then_reads_the_event_and_ctrl_d(
    cli: Cli, scrobctl_bin: Path, cli_env: dict[str, str]
) -> None:
    master, slave = pty.openpty()
    err_read, err_write = os.pipe()
    proc = subprocess.Popen(
        [str(scrobctl_bin), "scrobble"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=err_write,
        env=cli_env,
    )
    os.close(slave)
    os.close(err_write)
    try:
        said = read_until(err_read, b"Ctrl-D")
        assert WAITING.encode() in said, said

        event = {
            "type": "track",
            "title": "Hurt",
            "artist": "Johnny Cash",
            "duration_ms": 218_000,
            "watched_ms": 150_000,
            "watched_at": "2026-11-23T20:15:00Z",
        }
        os.write(master, json.dumps(event).encode() + b"\n")
        os.write(master, b"\x04")  # Ctrl-D at the start of a line: end of input
        proc.wait(timeout=TIMEOUT)
        rest = read_until(err_read, b"\0", timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(err_read)

    assert proc.returncode == 0, said + rest
    assert b"recorded with no service to send to 1" in rest, rest  # the event was read
    assert status_json(cli)["plays"] == 1


def test_scrobble_from_a_pipe_does_not_say_it_is_waiting(cli: Cli) -> None:
    result = cli("scrobble", input="")

    assert result.returncode == 0, result.stderr
    assert "waiting for playback events" not in result.stderr
