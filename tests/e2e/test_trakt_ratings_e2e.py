"""End to end: `scrobctl import trakt` brings ratings of movies, shows, seasons and episodes
(trakt/trakt-api contracts/sync/index.ts l.371-384) from a fake Trakt that forces pagination on
the "pagination optional" ratings list, as Trakt did in 2026 (trakt/trakt-api#919): only a
client that sends page/limit and follows X-Pagination-Page-Count gets them all (issue #15)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, fake_service_env, log_in, unique
from tests.fakes.trakt import FakeTrakt

GOT = {"title": "Game of Thrones", "year": 2011, "ids": {"trakt": 1390, "tvdb": 121361}}


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ratings() -> list[dict[str, Any]]:
    now = int(time.time()) - 3600
    movies = [
        {
            "rated_at": iso(now - i),
            "rating": 1 + i % 10,
            "type": "movie",
            "movie": {
                "title": f"M{i}",
                "year": 2000,
                "ids": {"trakt": 60_000 + i, "tmdb": 400_000 + i},
            },
        }
        for i in range(230)
    ]
    season = {"number": 2, "ids": {"trakt": 3962, "tvdb": 473271}}
    episode = {"season": 2, "number": 3, "ids": {"trakt": 73_203, "tvdb": 3_254_203}}
    return [
        *movies,
        {"rated_at": iso(now - 900), "rating": 9, "type": "show", "show": GOT},
        {"rated_at": iso(now - 901), "rating": 6, "type": "season", "season": season, "show": GOT},
        {
            "rated_at": iso(now - 902),
            "rating": 7,
            "type": "episode",
            "episode": episode,
            "show": GOT,
        },
    ]


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        poll_statuses=[200],
        interval=1,
        ratings=ratings(),
    )
    fake.forced_ratings_limit = 100
    with fake:
        yield fake


def test_import_trakt_brings_movie_show_season_and_episode_ratings_across_forced_pages(
    cli: Cli, cli_env: dict[str, str], fake_trakt: FakeTrakt
) -> None:
    cli_env.update(fake_service_env(trakt=fake_trakt))
    log_in(cli, "trakt")

    imported = cli("import", "trakt")

    assert imported.returncode == 0, imported.stderr
    db = Path(cli_env["SCROBCTL_DATA_DIR"]) / "scrobctl.db"
    with closing(sqlite3.connect(db)) as conn:
        kinds = dict(
            conn.execute(
                "SELECT i.kind, count(*) FROM ratings r JOIN items i ON i.id = r.item_id"
                " WHERE r.source = 'trakt' GROUP BY i.kind"
            ).fetchall()
        )
    assert kinds == {"movie": 230, "show": 1, "season": 1, "episode": 1}
    asked = [r.query for r in fake_trakt.requests if r.path.startswith("/sync/ratings/")]
    assert all(q.get("limit") == ["250"] for q in asked)
