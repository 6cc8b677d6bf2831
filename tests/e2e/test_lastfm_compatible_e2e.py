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
