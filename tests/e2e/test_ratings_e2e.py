"""End to end: ratings from Trakt to Simkl through the installed CLI, against the fake Trakt and
Simkl servers on 127.0.0.1.

`scrobctl import trakt` reads 500 movie ratings from `GET /sync/ratings/movies`,
`scrobctl export ratings --from trakt --to simkl` queues them and `scrobctl flush` sends them in
as few `POST /sync/ratings` as the batch size of 100 allows, no faster than Simkl's 1 POST a
second (the fake answers 429 to a faster client). The only timing checked is the spacing between
those POSTs as the fake recorded them on arrival.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest

from tests.e2e.conftest import Cli, fake_service_env, log_in, summary_line, unique
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt

RATINGS = 500
BATCH = 100
MIN_POST_GAP = 0.9  # 1 s, less the jitter between two arrivals on localhost
DAY = 86_400


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def trakt_ratings(count: int) -> list[dict[str, Any]]:
    """`count` movie ratings in Trakt's `/sync/ratings` shape: values 1-10 in turn, a minute
    apart."""
    newest = int(time.time()) - DAY
    return [
        {
            "rated_at": iso(newest - 60 * i),
            "rating": 1 + i % 10,
            "type": "movie",
            "movie": {
                "title": f"Movie {i:04d}",
                "year": 2000 + i % 25,
                "ids": {
                    "trakt": 50_000 + i,
                    "slug": f"movie-{i:04d}",
                    "imdb": f"tt{8_000_000 + i}",
                    "tmdb": 300_000 + i,
                },
            },
        }
        for i in range(count)
    ]


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        poll_statuses=[200],  # the user approves at once
        interval=1,
        ratings=trakt_ratings(RATINGS),
    )
    with fake:
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=unique("simkl-id"), pending_polls=0, interval=1)
    with fake:
        yield fake


@pytest.fixture
def cli_with_services(
    cli: Cli, cli_env: dict[str, str], fake_trakt: FakeTrakt, fake_simkl: FakeSimkl
) -> Cli:
    """The CLI pointed at both fakes, logged in to both through `scrobctl login`."""
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl))
    log_in(cli, "trakt", "simkl")
    return cli


def test_500_trakt_ratings_reach_simkl_in_5_posts_at_1_per_second_and_only_once(
    cli_with_services: Cli, fake_trakt: FakeTrakt, fake_simkl: FakeSimkl
) -> None:
    cli = cli_with_services
    fake_simkl.connect_latency = 0.3  # a new connection to the real host takes a handshake

    imported = cli("import", "trakt")
    exported = cli("export", "ratings", "--from", "trakt", "--to", "simkl")
    flushed = cli("flush")

    assert imported.returncode == 0, imported.stderr
    assert "500 entries, 500 matched by id" in imported.stderr
    assert exported.returncode == 0, exported.stderr
    assert summary_line(exported.stderr, "simkl").startswith("simkl: queued 500, already there 0")
    assert flushed.returncode == 0, flushed.stderr
    assert "500 sent in 5 requests" in summary_line(flushed.stderr, "simkl")

    posts = [r for r in fake_simkl.requests_to("/sync/ratings") if r.method == "POST"]
    assert len(posts) == math.ceil(RATINGS / BATCH) == 5
    assert [len(json.loads(r.body)["movies"]) for r in posts] == [BATCH] * 5
    assert fake_simkl.throttled == []
    times = fake_simkl.post_times("/sync/ratings")
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert min(gaps) >= MIN_POST_GAP, gaps

    rated_on_trakt = {str(r["movie"]["ids"]["tmdb"]): r for r in fake_trakt.ratings}
    held = {str(r.ids["tmdb"]): (r.rating, r.rated_at) for r in fake_simkl.ratings}
    assert held == {
        tmdb: (r["rating"], iso_simkl(r["rated_at"])) for tmdb, r in rated_on_trakt.items()
    }
    assert fake_simkl.ignored_ratings == []
    assert fake_simkl.problems == []

    again = cli("export", "ratings", "--from", "trakt", "--to", "simkl")
    assert again.returncode == 0, again.stderr
    assert summary_line(again.stderr, "simkl").startswith("simkl: queued 0,")
    reflushed = cli("flush")
    assert reflushed.returncode == 0, reflushed.stderr
    assert len([r for r in fake_simkl.requests_to("/sync/ratings") if r.method == "POST"]) == 5


def iso_simkl(trakt_time: str) -> str:
    """Trakt's 2026-11-17T08:20:00.000Z as Simkl writes it: 2026-11-17T08:20:00Z."""
    return trakt_time.replace(".000Z", "Z")
