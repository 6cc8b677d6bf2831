"""End to end: `explain` and `unscrobble` on an archive with plays on all four services.

The installed `scrobctl` logs in to fake Trakt, Simkl, Last.fm and ListenBrainz servers on
127.0.0.1, scrobbles and flushes plays to them, and then takes some back: the removals are
queued as jobs and `flush` sends them, after which the fakes no longer have those plays.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Cli, fake_service_env, jsonl, log_in, unique
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data

DAY = 86_400


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        poll_statuses=[200],
        interval=1,
    )
    with fake:
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=unique("simkl-id"), pending_polls=0, interval=1)
    with fake:
        yield fake


@pytest.fixture
def fake_lastfm() -> Iterator[FakeLastfm]:
    fake = FakeLastfm(
        api_key=unique("lastfm-key"), api_secret=unique("lastfm-secret"), auto_approve_after=0
    )
    with fake:
        yield fake


@pytest.fixture
def all_four(
    cli: Cli,
    cli_env: dict[str, str],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
    fake_lb: FakeListenBrainz,
) -> Callable[[list[dict[str, Any]]], dict[str, int]]:
    """Logged in to all four; returns a function that scrobbles and flushes events and gives
    each play's id by its title."""
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl, lastfm=fake_lastfm))
    functools.partial(log_in, cli)("trakt", "simkl", "lastfm", "listenbrainz")

    def send(events: list[dict[str, Any]]) -> dict[str, int]:
        scrobbled = cli("scrobble", input=jsonl(events))
        assert scrobbled.returncode == 0, scrobbled.stderr
        flushed = cli("flush")
        assert flushed.returncode == 0, flushed.stderr
        history = cli("history", "--json", "--limit", "1000")
        assert history.returncode == 0, history.stderr
        return {p["title"]: p["id"] for p in json_data(history.stdout)["plays"]}

    return send


def track(title: str, at: int, album: str | None = "E2E") -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "title": title,
        "artist": "The Testers",
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": at,
    }
    if album is not None:
        event["album"] = album
    return event


def movie(title: str, tmdb: int, at: int) -> dict[str, Any]:
    return {
        "type": "movie",
        "title": title,
        "year": 2001,
        "ids": {"tmdb": tmdb, "imdb": f"tt{9_000_000 + tmdb}"},
        "duration_ms": 6_000_000,
        "percentage": 95,
        "watched_at": at,
    }


def trakt_tmdbs(fake: FakeTrakt) -> list[int]:
    with fake.lock:
        return sorted(p.entry["movie"]["ids"]["tmdb"] for p in fake.plays)


def simkl_tmdbs(fake: FakeSimkl) -> list[str]:
    with fake.lock:
        return sorted(str(e.ids["tmdb"]) for e in fake.library if e.kind == "movies")


def lb_titles(fake: FakeListenBrainz) -> list[str]:
    return sorted(x["track_metadata"]["track_name"] for x in fake.received())


def test_unscrobble_queues_removals_that_flush_takes_off_trakt_simkl_and_listenbrainz(
    cli: Cli,
    all_four: Callable[[list[dict[str, Any]]], dict[str, int]],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
    fake_lb: FakeListenBrainz,
) -> None:
    start = int(time.time()) - 3 * DAY
    ids = all_four(
        [
            movie("Wrong Film", 101, start),
            movie("Right Film", 102, start + 9_000),
            track("Wrong Song", start + 20_000),
            track("Right Song", start + 20_300),
        ]
    )
    assert trakt_tmdbs(fake_trakt) == [101, 102]
    assert simkl_tmdbs(fake_simkl) == ["101", "102"]
    assert lb_titles(fake_lb) == ["Right Song", "Wrong Song"]

    removed = cli("unscrobble", str(ids["Wrong Film"]), str(ids["Wrong Song"]))

    assert removed.returncode == 0, removed.stderr
    assert "trakt: removal queued" in removed.stderr
    assert "simkl: removal queued" in removed.stderr
    assert "listenbrainz: removal queued" in removed.stderr
    assert "Last.fm has no API to delete a scrobble" in removed.stderr
    assert "/user/rob/library?from=" in removed.stderr
    assert "run `scrobctl flush` to send 3 removal(s)" in removed.stderr
    jobs = json_data(cli("queue", "list", "--json", "--state", "available").stdout)["jobs"]
    assert sorted((j["kind"], j["service"]) for j in jobs) == [
        ("unscrobble", "listenbrainz"),
        ("unscrobble", "simkl"),
        ("unscrobble", "trakt"),
    ]
    left = json_data(cli("history", "--json").stdout)["plays"]
    assert sorted(p["title"] for p in left) == ["Right Film", "Right Song"]

    flushed = cli("flush")

    assert flushed.returncode == 0, flushed.stderr
    assert trakt_tmdbs(fake_trakt) == [102]
    assert simkl_tmdbs(fake_simkl) == ["102"]
    assert [p.entry["movie"]["ids"]["tmdb"] for p in fake_trakt.removed] == [101]
    # ListenBrainz schedules the deletion; its hourly job carries it out.
    assert lb_titles(fake_lb) == ["Right Song", "Wrong Song"]
    assert fake_lb.run_deletions() == 1
    assert lb_titles(fake_lb) == ["Right Song"]
    assert len(fake_lastfm.stored()) == 2  # Last.fm keeps it: the user deletes it by hand
    done = json_data(cli("queue", "list", "--json", "--state", "completed").stdout)["jobs"]
    outcomes = {j["service"]: j["outcome"] for j in done if j["kind"] == "unscrobble"}
    assert outcomes == {
        "trakt": "removed",
        "simkl": "removed",
        "listenbrainz": "deletion scheduled",
    }
    assert fake_trakt.problems == [] and fake_simkl.problems == []


def test_unscrobble_of_a_play_not_sent_yet_only_drops_it_from_the_queue(
    cli: Cli,
    all_four: Callable[[list[dict[str, Any]]], dict[str, int]],
    fake_lb: FakeListenBrainz,
    fake_lastfm: FakeLastfm,
) -> None:
    all_four([])
    scrobbled = cli("scrobble", input=jsonl([track("Unsent", int(time.time()) - DAY)]))
    assert scrobbled.returncode == 0, scrobbled.stderr
    [play] = json_data(cli("history", "--json").stdout)["plays"]

    removed = cli("unscrobble", str(play["id"]))

    assert removed.returncode == 0, removed.stderr
    assert "listenbrainz: not sent yet; dropped from the queue" in removed.stderr
    assert "lastfm: not sent yet; dropped from the queue" in removed.stderr
    assert "flush" not in removed.stderr
    assert json_data(cli("queue", "list", "--json").stdout)["jobs"] == []
    assert cli("flush").returncode == 0
    assert fake_lb.received() == [] and fake_lastfm.stored() == []


def test_explain_of_a_weakly_matched_track_names_the_rule_and_its_candidates(
    cli: Cli,
    all_four: Callable[[list[dict[str, Any]]], dict[str, int]],
) -> None:
    start = int(time.time()) - 2 * DAY
    all_four(
        [
            track("Hurt", start, album="American IV"),
            track("Hurt", start + 600, "Live"),
            track("HURT", start + 1_200, album=None),  # no album: the first same artist + title
        ]
    )
    plays = json_data(cli("history", "--json").stdout)["plays"]
    [weak] = [p for p in plays if p["watched_at"] == start + 1_200]

    explained = cli("explain", str(weak["id"]), "--json")

    assert explained.returncode == 0, explained.stderr
    report = json_data(explained.stdout)
    assert report["match"]["rule"] == "weak"
    assert "artist" in report["match"]["detail"] and "title" in report["match"]["detail"]
    labels = sorted(c["label"] for c in report["candidates"])
    assert labels == ["The Testers - Hurt (Live)"]
    targets = {t["service"]: t for t in report["targets"]}
    assert set(targets) == {"lastfm", "listenbrainz"}
    assert targets["listenbrainz"]["state"] == "completed"
    assert targets["listenbrainz"]["attempts"] == 1
    human = cli("explain", str(weak["id"]))
    assert human.returncode == 0, human.stderr
    assert "weak match" in human.stdout
    assert "The Testers - Hurt (Live)" in human.stdout
