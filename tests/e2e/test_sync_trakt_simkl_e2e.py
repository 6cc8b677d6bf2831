"""End to end (issue 21, done when): Trakt and Simkl kept in step both ways. 3,000 episode
plays on Trakt, 1,000 of them already watched on Simkl (at the same minute: Simkl keeps no
seconds): `sync --from trakt --to simkl` sends the other 2,000 and none twice; 300 Trakt ratings
reach Simkl, and 200 Simkl ratings reach Trakt with `sync --from simkl --to trakt --ratings`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Cli, fake_service_env, log_in, unique
from tests.fakes.simkl import FakeSimkl
from tests.fakes.simkl import iso as simkl_iso
from tests.fakes.trakt import FakeTrakt, iso
from tests.helpers import json_envelope

SHOWS, EPISODES = 30, 100  # 3,000 plays: 30 shows, 4 seasons of 25 episodes each
START = 1_700_000_000
TIMEOUT = 180.0  # a timeout, not a timing check


def show(s: int) -> dict[str, Any]:
    return {"title": f"Show {s}", "year": 2020, "ids": {"trakt": 10_000 + s, "tvdb": 80_000 + s}}


def episodes() -> Iterator[tuple[int, int, int, int]]:
    """(show, season, number, watched_at) of every Trakt play, 40 minutes apart."""
    n = 0
    for s in range(SHOWS):
        for e in range(EPISODES):
            yield s, 1 + e // 25, 1 + e % 25, START + n * 2400 + 17  # 17 s past the minute
            n += 1


def movie(i: int) -> dict[str, Any]:
    return {"title": f"Film {i}", "year": 2001, "ids": {"trakt": 90_000 + i, "tmdb": 500_000 + i}}


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        poll_statuses=[200],
        interval=1,
        ratings=[
            {"rated_at": iso(START + i), "rating": 1 + i % 10, "type": "movie", "movie": movie(i)}
            for i in range(300)
        ],
    )
    with fake:
        for s, season, number, at in episodes():
            fake.add_watched(
                "episode",
                at,
                episode={"season": season, "number": number, "title": None, "ids": {}},
                show=show(s),
            )
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=unique("simkl-id"), pending_polls=0, interval=1)
    with fake:
        for n, (s, season, number, at) in enumerate(episodes()):
            if n % 3 == 0:
                fake.add_watched_episode(show(s), season, number, at - at % 60)
        for i in range(300, 500):
            fake.add_rating("movies", movie(i), 1 + i % 10, iso(START + 86_400 + i))
        yield fake


def sync_json(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("sync", *args, "--json", timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return json_envelope(result.stdout)["data"]


def sent_episodes(fake: FakeSimkl) -> list[tuple[str, int | None, int | None]]:
    return sorted((p.watched_at or "", p.season, p.number) for p in fake.plays)


@pytest.mark.realtime(40)
def test_trakt_and_simkl_kept_in_step_both_ways_plays_and_ratings_none_twice(
    cli: Cli, cli_env: dict[str, str], fake_trakt: FakeTrakt, fake_simkl: FakeSimkl
) -> None:
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl))
    log_in(cli, "trakt", "simkl")

    there = sync_json(cli, "--from", "trakt", "--to", "simkl", "--ratings")

    assert there["imported"]["trakt"] == 3_000 + 300
    assert there["queued"] == 2_000
    assert there["already_there"] == {"id": 1_000, "title": 0}
    assert there["ratings"]["queued"] == 300
    flushed = cli("flush", timeout=TIMEOUT)
    assert flushed.returncode == 0, flushed.stderr
    expected = sorted(
        (simkl_iso(at), season, number)
        for n, (_s, season, number, at) in enumerate(episodes())
        if n % 3
    )
    assert sent_episodes(fake_simkl) == expected  # the 2,000 missing, each once
    assert len(fake_simkl.ratings) == 500  # 300 from Trakt next to Simkl's own 200

    back = sync_json(cli, "--from", "simkl", "--to", "trakt", "--ratings")

    assert back["queued"] == 0  # every Simkl play is on Trakt already
    assert back["ratings"]["queued"] == 200
    again = sync_json(cli, "--from", "trakt", "--to", "simkl", "--ratings")
    assert again["queued"] == 0 and again["ratings"]["queued"] == 0
    assert cli("flush", timeout=TIMEOUT).returncode == 0
    rated = {r["movie"]["ids"]["tmdb"]: r["rating"] for r in fake_trakt.ratings}
    assert len(rated) == 500
    assert all(rated[500_000 + i] == 1 + i % 10 for i in range(300, 500))
    assert sent_episodes(fake_simkl) == expected  # nothing sent twice
    assert fake_trakt.history_posts() == []  # and no play sent back to Trakt
