"""`scrobctl import trakt` (sync/readers/trakt.py) through the real use case (sync/service.py):
`GET /sync/history` paged with page/limit and a fixed end_at (api-notes 4.1, 6), then
`GET /sync/ratings/movies` and `/episodes` (api-notes 5). respx stands in for api.trakt.tv with a
fake that honours the paging parameters the way the notes describe Trakt doing it.

FakeTrakt, login_trakt_for_import and the entry builders are shared with tests/test_importer.py.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrobctl.runtime import Runtime
from scrobctl.services import trakt
from scrobctl.store import connections
from scrobctl.sync.importer import ImportResult
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import make_runtime, watched_times

API = "https://api.trakt.tv"
SERVICE = "trakt"
PROFILE = "default"
NOW = 1_795_000_000  # FakeClock's start: 2026-11-18T11:06:40Z
WEEK = 7 * 86_400
TRAKT_APP = {"client_id": "dummy-trakt-client-id", "client_secret": "dummy-trakt-secret"}
PAGE = 250  # Trakt's largest page (api-notes 0.5)
DEFAULT_LIMIT = 100  # what Trakt serves when no limit is sent (api-notes 6)


# -- what Trakt answers -------------------------------------------------------------------------


def movie(n: int, at: int, *, ids: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `/sync/history` entry for a movie (api-notes 4.1)."""
    return {
        "id": 1_000_000 + n,
        "watched_at": trakt.iso(at),
        "action": "scrobble",
        "type": "movie",
        "movie": {
            "title": f"Movie {n}",
            "year": 1990 + n % 30,
            "ids": {"trakt": n, "slug": f"movie-{n}", "imdb": f"tt{n:07d}", "tmdb": n}
            if ids is None
            else ids,
        },
    }


GOT = {
    "title": "Game of Thrones",
    "year": 2011,
    "ids": {
        "trakt": 1390,
        "slug": "game-of-thrones",
        "tvdb": 121361,
        "imdb": "tt0944947",
        "tmdb": 1399,
    },
}


def episode(season: int, number: int, at: int, *, show: dict[str, Any] = GOT) -> dict[str, Any]:
    """One `/sync/history` entry for an episode: `episode` + `show` (api-notes 4.1)."""
    n = season * 100 + number
    return {
        "id": 2_000_000 + n,
        "watched_at": trakt.iso(at),
        "action": "watch",
        "type": "episode",
        "episode": {
            "season": season,
            "number": number,
            "title": f"Episode {number}",
            "ids": {
                "trakt": 73_000 + n,
                "tvdb": 3_254_000 + n,
                "imdb": f"tt1{n:06d}",
                "tmdb": 63_000 + n,
            },
        },
        "show": show,
    }


def movies(count: int, *, newest: int = NOW - 600, step: int = 600) -> list[dict[str, Any]]:
    """`count` distinct movies, newest first, `step` seconds apart."""
    return [movie(i + 1, newest - i * step) for i in range(count)]


def rating(entry: dict[str, Any], value: int, rated_at: int) -> dict[str, Any]:
    """A `/sync/ratings` item for a history entry's movie or episode (api-notes 5)."""
    media = {k: v for k, v in entry.items() if k in ("movie", "episode", "show")}
    return {"rated_at": trakt.iso(rated_at), "rating": value, "type": entry["type"], **media}


def _ts(value: str | None) -> int | None:
    if value is None:
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def watched_at(entry: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(entry["watched_at"].replace("Z", "+00:00")).timestamp())


class FakeTrakt:
    """`GET /sync/history` and `GET /sync/ratings/{movies,shows,seasons,episodes}` on
    api.trakt.tv.

    History honours `page`, `limit` (default 100, clamped to 250), `start_at` and `end_at`
    (inclusive), answers newest first with the X-Pagination-* headers, and pages over what is
    there at the time of each request (so a play added mid-import shifts an open-ended window).
    Requests on pages in `fail_pages` get a 503. With a clock, every request advances it by
    `tick` seconds, as time passes during a real import.
    """

    def __init__(
        self,
        entries: list[dict[str, Any]] | None = None,
        *,
        ratings: dict[str, list[dict[str, Any]]] | None = None,
        clock: FakeClock | None = None,
        tick: float = 0.0,
    ) -> None:
        self.entries = list(entries or [])
        self.ratings = ratings or {}
        self.clock = clock
        self.tick = tick
        self.fail_pages: set[int] = set()
        self.requests: list[dict[str, str]] = []  # history query parameters, in order
        self.rating_requests: list[str] = []
        self.forced_limit: int | None = None
        self.on_request: list[Any] = []  # callables run before each history answer

    def install(self, router: respx.MockRouter) -> FakeTrakt:
        router.get(f"{API}/sync/history").mock(side_effect=self.history)
        for kind in ("movies", "shows", "seasons", "episodes"):
            router.get(f"{API}/sync/ratings/{kind}").mock(side_effect=self._ratings(kind))
        return self

    def add(self, *entries: dict[str, Any]) -> None:
        self.entries.extend(entries)

    @property
    def pages(self) -> list[int]:
        return [int(q.get("page", "1")) for q in self.requests]

    def since_sent(self) -> list[int | None]:
        return [_ts(q.get("start_at")) for q in self.requests]

    def history(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.requests.append(query)
        if self.clock is not None:
            self.clock.t += self.tick
        for hook in self.on_request:
            hook(query)
        page = int(query.get("page", "1"))
        if page in self.fail_pages:
            return httpx.Response(
                503, text="<html>busy</html>", headers={"Content-Type": "text/html"}
            )
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), PAGE)
        start, end = _ts(query.get("start_at")), _ts(query.get("end_at"))
        chosen = sorted(
            (
                e
                for e in self.entries
                if (start is None or start <= watched_at(e))
                and (end is None or watched_at(e) <= end)
            ),
            key=watched_at,
            reverse=True,
        )
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(max(1, math.ceil(len(chosen) / limit))),
            "X-Pagination-Item-Count": str(len(chosen)),
        }
        return httpx.Response(200, json=chosen[(page - 1) * limit : page * limit], headers=headers)

    def _ratings(self, kind: str) -> Any:
        """ "Pagination optional" (trakt/trakt-api contracts/sync/index.ts l.371-384): all at
        once without page/limit, unless `forced_limit` is set (pages of that size whatever is
        asked, as a forced-pagination answer, api-notes corrections item 11); with them, pages
        with the X-Pagination-* headers."""

        def answer(request: httpx.Request) -> httpx.Response:
            self.rating_requests.append(kind)
            query = dict(request.url.params)
            chosen = self.ratings.get(kind, [])
            if self.forced_limit is None and "page" not in query and "limit" not in query:
                return httpx.Response(200, json=chosen)
            page = int(query.get("page", "1"))
            limit = self.forced_limit or min(int(query.get("limit", DEFAULT_LIMIT)), PAGE)
            headers = {
                "X-Pagination-Page": str(page),
                "X-Pagination-Limit": str(limit),
                "X-Pagination-Page-Count": str(max(1, math.ceil(len(chosen) / limit))),
                "X-Pagination-Item-Count": str(len(chosen)),
            }
            return httpx.Response(
                200, json=chosen[(page - 1) * limit : page * limit], headers=headers
            )

        return answer


# -- fixtures and helpers -----------------------------------------------------------------------


def login_trakt_for_import(runtime: Runtime) -> None:
    """A stored Trakt login whose access token is far from expiry (no refresh is attempted)."""
    connections.save_login(runtime.store(), PROFILE, SERVICE, "sean", NOW + WEEK)
    runtime.tokens().set(
        PROFILE,
        SERVICE,
        {
            "access_token": "dummy-access-token",
            "refresh_token": "dummy-refresh-token",
            "expires_in": WEEK,
            "created_at": NOW,
            "token_type": "bearer",
            "scope": "public",
        },
    )


def trakt_runtime(data_dir: Path, clock: FakeClock) -> Runtime:
    runtime = make_runtime(data_dir, clock, trakt=TRAKT_APP)
    login_trakt_for_import(runtime)
    return runtime


@pytest.fixture
def runtime(isolated_env: Path, clock: FakeClock) -> Iterator[Runtime]:
    rt = trakt_runtime(isolated_env, clock)
    yield rt
    rt.close()


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def times_of(entries: list[dict[str, Any]]) -> list[int]:
    return sorted((watched_at(e) for e in entries), reverse=True)


# -- paging ---------------------------------------------------------------------------------------


def test_trakt_import_empty_history_imports_nothing_and_finishes(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeTrakt([]).install(api)

    result = run(runtime)

    assert fake.pages == [1]
    assert watched_times(runtime) == []
    assert (result.progress.processed, result.progress.failed, result.report) == (0, 0, None)
    state = runtime.store().conn.execute("SELECT state FROM imports").fetchone()[0]
    assert state == "done"


def test_trakt_import_exactly_one_full_page_is_one_history_request(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    entries = movies(PAGE)
    fake = FakeTrakt(entries).install(api)

    run(runtime)

    assert fake.pages == [1]
    assert watched_times(runtime) == times_of(entries)


def test_trakt_import_short_last_page_imports_every_play(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    entries = movies(2 * PAGE + 100)
    fake = FakeTrakt(entries).install(api)

    run(runtime)

    assert fake.pages == [1, 2, 3]
    assert watched_times(runtime) == times_of(entries)


def test_trakt_import_sends_limit_250_and_one_fixed_end_at_on_every_page(
    runtime: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    fake = FakeTrakt(movies(2 * PAGE + 100), clock=clock, tick=90).install(api)

    run(runtime)

    assert [q.get("limit") for q in fake.requests] == ["250", "250", "250"]
    assert {q.get("end_at") for q in fake.requests} == {trakt.iso(NOW)}


def test_trakt_import_play_added_during_the_import_does_not_shift_the_pages(
    runtime: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    entries = movies(2 * PAGE + 100)
    fake = FakeTrakt(entries, clock=clock, tick=90).install(api)
    newcomers = iter(range(5000, 5010))

    def new_play(_query: dict[str, str]) -> None:  # someone watches while the import runs
        fake.add(movie(next(newcomers), int(clock.now())))

    fake.on_request.append(new_play)

    run(runtime)

    assert watched_times(runtime) == times_of(entries)


def test_trakt_import_reports_the_item_count_from_the_first_page(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeTrakt(movies(2 * PAGE + 100)).install(api)
    totals: list[int | None] = []

    run(runtime, on_page=lambda p: totals.append(p.total))

    assert totals[0] == 2 * PAGE + 100
    assert set(totals) == {2 * PAGE + 100}


def test_trakt_import_episodes_are_items_of_their_show_with_season_and_number(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeTrakt([episode(1, 1, NOW - 7200), episode(1, 2, NOW - 3600)]).install(api)

    run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT e.season, e.number, e.tmdb, s.title, s.tmdb FROM plays p"
        " JOIN items e ON e.id = p.item_id JOIN items s ON s.id = e.show_id"
        " ORDER BY p.watched_at"
    )
    assert [tuple(r) for r in rows] == [
        (1, 1, 63_101, "Game of Thrones", 1399),
        (1, 2, 63_102, "Game of Thrones", 1399),
    ]


def test_trakt_import_records_every_play_as_on_trakt(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    entries = movies(3)
    FakeTrakt(entries).install(api)

    run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT s.service, s.scrobbled_at, s.source FROM scrobbles s ORDER BY s.scrobbled_at DESC"
    )
    assert [tuple(r) for r in rows] == [("trakt", t, "imported") for t in times_of(entries)]


# -- ratings --------------------------------------------------------------------------------------


def test_trakt_import_movie_and_episode_ratings_land_in_the_ratings_table_as_is(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    watched = [movie(1, NOW - 9000), movie(2, NOW - 8000), episode(2, 3, NOW - 7000)]
    fake = FakeTrakt(
        watched,
        ratings={
            "movies": [rating(watched[0], 10, NOW - 500), rating(watched[1], 1, NOW - 400)],
            "episodes": [rating(watched[2], 7, NOW - 300)],
        },
    ).install(api)

    run(runtime)

    assert sorted(fake.rating_requests) == ["episodes", "movies", "seasons", "shows"]
    rows = runtime.store().conn.execute(
        "SELECT i.kind, i.tmdb, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        ("movie", 1, 10.0, NOW - 500, "trakt"),
        ("movie", 2, 1.0, NOW - 400, "trakt"),
        ("episode", 63_203, 7.0, NOW - 300, "trakt"),
    ]


def test_trakt_import_rating_of_a_watched_movie_is_on_the_played_item(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    watched = movie(603, NOW - 9000)
    FakeTrakt([watched], ratings={"movies": [rating(watched, 9, NOW - 60)]}).install(api)

    run(runtime)

    conn = runtime.store().conn
    played = conn.execute("SELECT item_id FROM plays").fetchone()[0]
    rated = conn.execute("SELECT item_id FROM ratings").fetchone()[0]
    assert played == rated
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 1


def test_trakt_import_show_and_season_ratings_land_on_the_show_and_its_season(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    season = {"number": 2, "ids": {"trakt": 3_962, "tvdb": 473_271, "tmdb": 3_625}}
    FakeTrakt(
        [],
        ratings={
            "shows": [{"rated_at": trakt.iso(NOW - 200), "rating": 9, "type": "show", "show": GOT}],
            "seasons": [
                {
                    "rated_at": trakt.iso(NOW - 100),
                    "rating": 6,
                    "type": "season",
                    "season": season,
                    "show": GOT,
                }
            ],
        },
    ).install(api)

    result = run(runtime)

    conn = runtime.store().conn
    rows = conn.execute(
        "SELECT i.kind, i.trakt, i.season, s.trakt, r.rating FROM ratings r"
        " JOIN items i ON i.id = r.item_id LEFT JOIN items s ON s.id = i.show_id"
        " ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        ("show", 1390, None, None, 9.0),
        ("season", 3_962, 2, 1390, 6.0),
    ]
    assert result.report is None


def test_trakt_import_ratings_follow_the_page_count_when_trakt_forces_pagination(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    watched = movies(600)
    fake = FakeTrakt(
        [], ratings={"movies": [rating(m, 1 + i % 10, NOW - i) for i, m in enumerate(watched)]}
    )
    fake.forced_limit = 100
    fake.install(api)

    run(runtime)

    assert runtime.store().conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 600
    assert fake.rating_requests.count("movies") == 6
