"""`scrobctl import simkl` (sync/readers/simkl.py) through the real use case: the
`/sync/activities` gate, then `/sync/all-items/{movies,shows,anime}` with per-episode watched_at
(api-notes 10.1), and `user_rating` as the rating (10.3). respx stands in for api.simkl.com.

Simkl's all-items is not paged: each type is one answer (possibly a whole-response `null`), so the
paging cases of the other services become "one request per type" here.

FakeSimkl, login_simkl_for_import and the entry builders are shared with tests/test_importer.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrobctl.runtime import Runtime
from scrobctl.services import simkl
from scrobctl.store import connections
from scrobctl.sync.importer import OVERLAP, ImportResult
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import make_runtime

API = "https://api.simkl.com"
SERVICE = "simkl"
PROFILE = "default"
NOW = 1_795_000_000  # FakeClock's start: 2026-11-18T11:06:40Z
SIMKL_APP = {"client_id": "dummy-simkl-client-id"}
KINDS = ("movies", "shows", "anime")
UNKNOWN_DATE = "1970-01-01T00:00:01Z"  # "watched, date unknown" (api-notes 10.1)


def iso(ts: int) -> str:
    return simkl.iso(ts)


def ts(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


# -- what Simkl answers ---------------------------------------------------------------------------

MATRIX_IDS = {"simkl": "53536", "slug": "the-matrix", "imdb": "tt0133093", "tmdb": "603"}


def movie(
    watched: str | None,
    *,
    title: str = "The Matrix",
    year: int = 1999,
    ids: dict[str, Any] = MATRIX_IDS,
    user_rating: int | None = None,
    rated_at: str | None = None,
) -> dict[str, Any]:
    """An all-items movie entry; ids as strings, the way Simkl often sends them (10.3)."""
    return {
        "last_watched_at": watched,
        "status": "completed",
        "user_rating": user_rating,
        "user_rated_at": rated_at,
        "watched_episodes_count": 0,
        "total_episodes_count": 0,
        "not_aired_episodes_count": 0,
        "movie": {"title": title, "poster": "66/66123abc", "year": year, "ids": ids},
    }


GOT_IDS = {
    "simkl": "17465",
    "slug": "game-of-thrones",
    "imdb": "tt0944947",
    "tmdb": "1399",
    "tvdb": "121361",
}


def show(
    seasons: dict[int, dict[int, str]],
    *,
    title: str = "Game of Thrones",
    year: int = 2011,
    ids: dict[str, Any] = GOT_IDS,
    user_rating: int | None = None,
    rated_at: str | None = None,
) -> dict[str, Any]:
    """An all-items show (or anime) entry with `seasons[].episodes[].watched_at`."""
    watched = [at for episodes in seasons.values() for at in episodes.values()]
    return {
        "last_watched_at": max(watched, default=None),
        "status": "watching",
        "user_rating": user_rating,
        "user_rated_at": rated_at,
        "watched_episodes_count": len(watched),
        "total_episodes_count": 73,
        "not_aired_episodes_count": 0,
        "show": {"title": title, "poster": "17/17465abc", "year": year, "ids": ids},
        "seasons": [
            {
                "number": number,
                "episodes": [{"number": n, "watched_at": at} for n, at in sorted(episodes.items())],
            }
            for number, episodes in sorted(seasons.items())
        ],
    }


def _changed(entry: dict[str, Any]) -> int:
    """When an entry last changed, for `date_from` (watched or rated, whichever is later)."""
    times = [entry.get("last_watched_at"), entry.get("user_rated_at")]
    return max((ts(t) for t in times if t), default=0)


class FakeSimkl:
    """`GET /sync/activities` and `GET /sync/all-items/{type}` on api.simkl.com.

    All-items answers `{type: [...]}`, only entries changed at or after `date_from` when given,
    and the whole-response `null` when there is nothing (api-notes 10.1). Every request is kept
    as (path, query) in `requests`.
    """

    def __init__(
        self,
        *,
        movies: list[dict[str, Any]] | None = None,
        shows: list[dict[str, Any]] | None = None,
        anime: list[dict[str, Any]] | None = None,
        activities_all: str = "2026-11-17T21:00:00Z",
    ) -> None:
        self.items = {"movies": movies or [], "shows": shows or [], "anime": anime or []}
        self.activities_all = activities_all
        self.requests: list[tuple[str, dict[str, str]]] = []

    def install(self, router: respx.MockRouter) -> FakeSimkl:
        router.get(f"{API}/sync/activities").mock(side_effect=self.activities)
        for kind in KINDS:
            router.get(f"{API}/sync/all-items/{kind}").mock(side_effect=self._all_items(kind))
        return self

    @property
    def paths(self) -> list[str]:
        return [path for path, _query in self.requests]

    def all_items_requests(self) -> list[tuple[str, dict[str, str]]]:
        return [(p, q) for p, q in self.requests if p.startswith("/sync/all-items/")]

    def activities(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.path, dict(request.url.params)))
        group = {
            "all": self.activities_all,
            "rated_at": self.activities_all,
            "playback": None,
            "plantowatch": None,
            "completed": self.activities_all,
            "dropped": None,
            "removed_from_list": None,
        }
        return httpx.Response(
            200,
            json={
                "all": self.activities_all,
                "settings": {"all": "2026-01-01T00:00:00Z"},
                "tv_shows": {**group, "watching": self.activities_all, "hold": None},
                "anime": {**group, "watching": None, "hold": None},
                "movies": group,
            },
        )

    def _all_items(self, kind: str) -> Any:
        def answer(request: httpx.Request) -> httpx.Response:
            query = dict(request.url.params)
            self.requests.append((request.url.path, query))
            entries = self.items[kind]
            if "date_from" in query:
                since = ts(query["date_from"])
                entries = [e for e in entries if _changed(e) >= since]
            if not entries:
                return httpx.Response(
                    200, content=b"null", headers={"Content-Type": "application/json"}
                )
            return httpx.Response(200, json={kind: entries})

        return answer


# -- fixtures and helpers -------------------------------------------------------------------------


def login_simkl_for_import(runtime: Runtime) -> None:
    connections.save_login(runtime.store(), PROFILE, SERVICE, "sean")
    runtime.tokens().set(PROFILE, SERVICE, {"access_token": "dummy-simkl-access-token"})


@pytest.fixture
def runtime(isolated_env: Path, clock: FakeClock) -> Iterator[Runtime]:
    rt = make_runtime(isolated_env, clock, simkl=SIMKL_APP)
    login_simkl_for_import(rt)
    yield rt
    rt.close()


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def count(runtime: Runtime, table: str) -> int:
    return runtime.store().conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- the calls -------------------------------------------------------------------------------------


def test_simkl_import_calls_activities_first_then_all_items_per_type(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl(movies=[movie("2026-11-10T20:00:00Z")]).install(api)

    run(runtime)

    assert fake.paths == [
        "/sync/activities",
        "/sync/all-items/movies",
        "/sync/all-items/shows",
        "/sync/all-items/anime",
    ]


def test_simkl_import_asks_all_items_for_per_episode_watched_at(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl().install(api)

    run(runtime)

    sent = fake.all_items_requests()
    assert len(sent) == 3
    assert [q.get("episode_watched_at") for _p, q in sent] == ["yes", "yes", "yes"]


def test_simkl_import_sends_the_client_id_on_every_call(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl().install(api)

    run(runtime)

    assert {q.get("client_id") for _p, q in fake.requests} == {SIMKL_APP["client_id"]}


def test_simkl_import_empty_history_of_null_answers_imports_nothing_and_finishes(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl().install(api)

    result = run(runtime)

    assert (count(runtime, "plays"), count(runtime, "ratings")) == (0, 0)
    assert (result.progress.processed, result.report) == (0, None)
    assert runtime.store().conn.execute("SELECT state FROM imports").fetchone()[0] == "done"


# -- what becomes a play ---------------------------------------------------------------------------


def test_simkl_import_string_ids_become_integers(runtime: Runtime, api: respx.MockRouter) -> None:
    FakeSimkl(movies=[movie("2026-11-10T20:00:00Z")]).install(api)

    run(runtime)

    row = (
        runtime.store()
        .conn.execute(
            "SELECT tmdb, typeof(tmdb), simkl, typeof(simkl), imdb FROM items WHERE kind = 'movie'"
        )
        .fetchone()
    )
    assert tuple(row) == (603, "integer", 53536, "integer", "tt0133093")


def test_simkl_import_movie_is_one_play_at_its_last_watched_at(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl(movies=[movie("2026-11-10T20:00:00Z")]).install(api)

    run(runtime)

    rows = runtime.store().conn.execute("SELECT watched_at, source FROM plays").fetchall()
    assert [tuple(r) for r in rows] == [(ts("2026-11-10T20:00:00Z"), "import:simkl")]


def test_simkl_import_unknown_date_is_not_a_play(runtime: Runtime, api: respx.MockRouter) -> None:
    FakeSimkl(
        movies=[
            movie(UNKNOWN_DATE),
            movie(
                "2026-11-10T20:00:00Z",
                title="Heat",
                year=1995,
                ids={"simkl": "1", "tmdb": "949"},
            ),
        ],
        shows=[show({1: {1: UNKNOWN_DATE, 2: "2026-11-11T21:00:00Z"}})],
    ).install(api)

    result = run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT p.watched_at, i.kind, i.title, i.number FROM plays p"
        " JOIN items i ON i.id = p.item_id ORDER BY p.watched_at"
    )
    assert [tuple(r) for r in rows] == [
        (ts("2026-11-10T20:00:00Z"), "movie", "Heat", None),
        (ts("2026-11-11T21:00:00Z"), "episode", None, 2),
    ]
    assert result.report is None  # not a failure either: watched, date unknown


def test_simkl_import_episodes_are_plays_of_show_season_and_number(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl(
        shows=[
            show(
                {
                    1: {1: "2026-11-01T20:00:00Z", 2: "2026-11-02T20:00:00Z"},
                    2: {1: "2026-11-03T20:00:00Z"},
                }
            )
        ]
    ).install(api)

    run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT p.watched_at, e.season, e.number, s.title, s.tmdb FROM plays p"
        " JOIN items e ON e.id = p.item_id JOIN items s ON s.id = e.show_id ORDER BY p.watched_at"
    )
    assert [tuple(r) for r in rows] == [
        (ts("2026-11-01T20:00:00Z"), 1, 1, "Game of Thrones", 1399),
        (ts("2026-11-02T20:00:00Z"), 1, 2, "Game of Thrones", 1399),
        (ts("2026-11-03T20:00:00Z"), 2, 1, "Game of Thrones", 1399),
    ]


def test_simkl_import_anime_episodes_are_plays_too(runtime: Runtime, api: respx.MockRouter) -> None:
    FakeSimkl(
        anime=[
            show(
                {1: {1: "2026-11-05T20:00:00Z"}},
                title="Cowboy Bebop",
                year=1998,
                ids={"simkl": "37089", "mal": "1", "tvdb": "76885"},
            )
        ]
    ).install(api)

    run(runtime)

    row = (
        runtime.store()
        .conn.execute(
            "SELECT s.title, s.tvdb, e.season, e.number FROM plays p"
            " JOIN items e ON e.id = p.item_id JOIN items s ON s.id = e.show_id"
        )
        .fetchone()
    )
    assert tuple(row) == ("Cowboy Bebop", 76885, 1, 1)


# -- ratings ---------------------------------------------------------------------------------------


def test_simkl_import_user_rating_lands_in_the_ratings_table(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl(
        movies=[movie("2026-11-10T20:00:00Z", user_rating=9, rated_at="2026-11-10T22:00:00Z")],
        shows=[
            show({1: {1: "2026-11-01T20:00:00Z"}}, user_rating=6, rated_at="2026-11-02T08:00:00Z")
        ],
    ).install(api)

    run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT i.kind, i.tmdb, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        ("show", 1399, 6.0, ts("2026-11-02T08:00:00Z"), "simkl"),
        ("movie", 603, 9.0, ts("2026-11-10T22:00:00Z"), "simkl"),
    ]


# -- incremental runs: the activities gate ---------------------------------------------------------


def test_simkl_incremental_run_with_unmoved_activities_makes_no_all_items_call(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    # The last activity is the rating, an hour after the newest play, and nothing changed since.
    fake = FakeSimkl(
        movies=[movie("2026-11-17T20:00:00Z", user_rating=8, rated_at="2026-11-17T21:00:00Z")],
        activities_all="2026-11-17T21:00:00Z",
    ).install(api)
    run(runtime)
    first = len(fake.requests)

    run(runtime)

    assert fake.paths[first:] == ["/sync/activities"]


def test_simkl_incremental_run_with_moved_activities_asks_all_items_after_the_last_play(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl(
        movies=[movie("2026-11-17T20:00:00Z")], activities_all="2026-11-17T20:00:00Z"
    ).install(api)
    run(runtime)
    first = len(fake.requests)
    fake.items["movies"].append(
        movie("2026-11-18T09:00:00Z", title="Heat", year=1995, ids={"simkl": "1", "tmdb": "949"})
    )
    fake.activities_all = "2026-11-18T09:00:00Z"

    run(runtime)

    later = [(p, q) for p, q in fake.requests[first:] if p.startswith("/sync/all-items/")]
    since = iso(ts("2026-11-17T20:00:00Z") - OVERLAP)
    assert [(p, q.get("date_from")) for p, q in later] == [
        (f"/sync/all-items/{kind}", since) for kind in KINDS
    ]
    assert count(runtime, "plays") == 2
