"""End to end: a Last.fm-compatible server scrobctl does not recognise (not a Maloja), whose
indexed `track.scrobble` form fails with error 8 while the single form works (issue #19).

The fallback to single scrobbles is found once, said once, and remembered in the target's
connection row, so later runs go straight to the form that works; `login --force` forgets it and
the next flush tries the batch form again. What arrived is read from the fake's own store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from scrobctl.accounts.lastfm import COMPAT_KEY
from tests.e2e.conftest import Cli, jsonl, summary_line, unique
from tests.fakes.lastfm import FakeLastfm

PASSWORD = unique("librefm-password")
LEARNED = "failed the batch form of track.scrobble"


@pytest.fixture
def compat() -> Iterator[FakeLastfm]:
    # It checks no app of its own: scrobctl signs with COMPAT_KEY when no Last.fm app is set.
    fake = FakeLastfm(
        api_key=COMPAT_KEY,
        api_secret=COMPAT_KEY,
        passwords={"rob": PASSWORD},
        indexed_scrobbles_fail=True,
    )
    with fake:
        yield fake


def tracks(count: int, first: int = 0) -> list[dict[str, Any]]:
    start = int(time.time()) - 86_400
    return [
        {
            "type": "track",
            "title": f"Song {i:03d}",
            "artist": "Compatible Testers",
            "album": "Fallback",
            "duration_ms": 200_000,
            "watched_ms": 150_000,
            "watched_at": start + i * 300,
        }
        for i in range(first, first + count)
    ]


def forms(fake: FakeLastfm, since: int = 0) -> list[str]:
    """Each track.scrobble call's form, in order: "indexed" or "single"."""
    calls = fake.calls_to("track.scrobble")[since:]
    return ["indexed" if any("[" in name for name in c.params) else "single" for c in calls]


def login(cli: Cli, fake: FakeLastfm, *extra: str) -> None:
    url = fake.url + "/2.0/"
    result = cli(
        "login",
        "lastfm",
        "--name",
        "libre",
        "--url",
        url,
        "--password",
        "--user",
        "rob",
        *extra,
        input=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr


def test_single_scrobble_fallback_is_remembered_said_once_and_reset_by_login_force(
    cli: Cli, compat: FakeLastfm
) -> None:
    login(cli, compat)
    assert cli("scrobble", input=jsonl(tracks(5))).returncode == 0

    first = cli("flush")

    assert first.returncode == 0, first.stderr
    assert first.stderr.count(LEARNED) == 1
    assert "libre --force" in first.stderr
    assert "5 sent" in summary_line(first.stderr, "libre")
    assert forms(compat) == ["indexed"] + ["single"] * 5
    assert len(compat.scrobbles) == 5

    # A later run goes straight to the single form and says nothing about it.
    calls = len(compat.calls_to("track.scrobble"))
    assert cli("scrobble", input=jsonl(tracks(3, first=10))).returncode == 0
    second = cli("flush")

    assert second.returncode == 0, second.stderr
    assert LEARNED not in second.stderr
    assert forms(compat, calls) == ["single"] * 3
    assert len(compat.scrobbles) == 8

    # A new login forgets it: the next flush tries the batch form again, and learns again.
    login(cli, compat, "--force")
    calls = len(compat.calls_to("track.scrobble"))
    assert cli("scrobble", input=jsonl(tracks(1, first=20))).returncode == 0
    third = cli("flush")

    assert third.returncode == 0, third.stderr
    assert third.stderr.count(LEARNED) == 1
    assert forms(compat, calls) == ["indexed", "single"]
    assert len(compat.scrobbles) == 9
    assert len(compat.accepted) == 9  # every play stored once, none sent twice
    assert compat.problems == []


def run_in_terminal(
    argv: list[str], env: dict[str, str], prompt: str, answer: str
) -> tuple[int, str]:
    """Run `argv` with a pseudo-terminal as stdin, stdout and stderr; type `answer` once
    `prompt` is shown (for a hidden prompt: up to the space getpass writes once echo is off,
    since typing earlier is flushed away). Returns the exit code and all the terminal showed."""
    import os
    import select
    import subprocess

    master, slave = os.openpty()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    shown, answered = b"", False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the other end is closed: the program ended
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and prompt.encode() in shown:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        else:
            pytest.fail(f"no end within 30 s; the terminal showed {shown!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.wait(timeout=10)
        os.close(master)
    return code, shown.decode("utf-8", "replace")


def test_password_login_asks_at_a_hidden_prompt_on_a_terminal(
    compat: FakeLastfm, cli_env: dict[str, str], scrobctl_bin: Any
) -> None:
    argv = [str(scrobctl_bin), "login", "lastfm", "--name", "libre", "--url"]
    argv += [compat.url + "/2.0/", "--password", "--user", "rob"]

    # click shows "Password for rob on libre (...):", then getpass(" ") turns echo off.
    code, shown = run_in_terminal(argv, cli_env, "API keys): ", PASSWORD)

    assert code == 0, shown
    assert "Password for rob on libre" in shown
    assert "Logged in to libre as rob" in shown
    assert PASSWORD not in shown  # not echoed
    [session] = compat.calls_to("auth.getMobileSession")
    assert session.http_method == "POST" and session.params["password"] == PASSWORD
