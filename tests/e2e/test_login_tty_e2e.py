"""`login` on a terminal (issue 17 items 2 and 6): it offers to queue the plays recorded before
it, and asks before replacing a working login. The installed command under a real
pseudo-terminal, answered as a person would."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import termios
from pathlib import Path

from tests.e2e.conftest import GOOD_TOKEN, TIMEOUT, Cli, jsonl, status_json, track_events
from tests.e2e.test_scrobble_tty_e2e import read_until
from tests.fakes.listenbrainz import FakeListenBrainz


def _controlling_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty (its stdin), so
    that a hidden prompt (getpass opens /dev/tty) reads from it as at a real terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """One command with stdin, stdout and stderr on a pseudo-terminal."""

    def __init__(self, scrobctl: Path, env: dict[str, str], *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [str(scrobctl), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=_controlling_terminal,
        )
        os.close(slave)
        self.seen = b""
        self.mark = 0  # where what came after the last answer begins

    def expect(self, text: str) -> None:
        """Read on until `text` has been shown since the last answer."""
        if text.encode() not in self.seen[self.mark :]:
            self.seen += read_until(self.master, text.encode(), seen=self.seen[self.mark :])
        assert text.encode() in self.seen[self.mark :], self.seen.decode("utf-8", "replace")

    def answer(self, line: str) -> None:
        self.mark = len(self.seen)
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> int:
        try:
            code = self.proc.wait(timeout=TIMEOUT)
            self.seen += read_until(self.master, b"\0", timeout=2)
            return code
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)


def test_login_on_a_terminal_offers_to_queue_earlier_plays_and_asks_before_replacing_it(
    cli: Cli, scrobctl_bin: Path, cli_env: dict[str, str], fake_lb: FakeListenBrainz
) -> None:
    assert cli("scrobble", input=jsonl(track_events(1))).returncode == 0

    first = Terminal(scrobctl_bin, cli_env, "login", "listenbrainz")
    # click writes the prompt, then getpass turns echo off (flushing what was typed) and
    # writes the last space: answer after that, as a person does.
    first.expect("ListenBrainz user token (https://listenbrainz.org/settings/): ")
    first.answer(GOOD_TOKEN)
    first.expect("1 archived play recorded before this login is not on listenbrainz.")
    first.expect("Queue them for the next flush? [Y/n]")
    first.answer("y")
    first.expect("queued 1 archived play for listenbrainz")
    assert first.finish() == 0
    assert GOOD_TOKEN not in first.seen.decode()  # typed without echo

    again = Terminal(scrobctl_bin, cli_env, "login", "listenbrainz")
    again.expect("Already logged in to listenbrainz as rob. Log in again? [y/N]")
    again.answer("n")
    again.expect("kept the login to listenbrainz as rob")
    assert again.finish() == 0
    assert "user token" not in again.seen.decode()  # no token was asked for

    assert cli("flush").returncode == 0
    [listen] = fake_lb.received()
    assert listen["track_metadata"]["track_name"] == "Track 00000"
    assert status_json(cli)["lacking"] == []
