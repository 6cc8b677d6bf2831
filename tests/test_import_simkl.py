"""`scrobctl import simkl` (sync/readers/simkl.py) through the real use case: the
`/sync/activities` gate, then `/sync/all-items/{movies,shows,anime}` with per-episode watched_at
(api-notes 10.1), and `user_rating` as the rating (10.3). respx stands in for api.simkl.com.

Simkl's all-items is not paged: each type is one answer (possibly a whole-response `null`), so the
paging cases of the other services become "one request per type" here.

The fakes and the data they serve: tests/histories/simkl.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import respx

from scrobctl.runtime import Runtime
from scrobctl.sync.importer import OVERLAP, ImportResult
from scrobctl.sync.service import import_history
from tests.helpers import PROFILE, SIMKL_CLIENT_ID
from tests.histories.simkl import KINDS, SERVICE, UNKNOWN_DATE, FakeSimkl, iso, movie, show, ts


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def count(runtime: Runtime, table: str) -> int:
    return runtime.store().conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- the calls -------------------------------------------------------------------------------------


def test_simkl_import_calls_activities_first_then_all_items_per_type(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl(movies=[movie("2026-11-10T20:00:00Z")]).install(api)

    run(logged_in_simkl)

    assert fake.paths == [
        "/sync/activities",
        "/sync/all-items/movies",
        "/sync/all-items/shows",
        "/sync/all-items/anime",
    ]


def test_simkl_import_asks_all_items_for_per_episode_watched_at(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl().install(api)

    run(logged_in_simkl)

    sent = fake.all_items_requests()
    assert len(sent) == 3
    assert [q.get("episode_watched_at") for _p, q in sent] == ["yes", "yes", "yes"]


def test_simkl_import_sends_the_client_id_on_every_call(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl().install(api)

    run(logged_in_simkl)

    assert {q.get("client_id") for _p, q in fake.requests} == {SIMKL_CLIENT_ID}


def test_simkl_import_empty_history_of_null_answers_imports_nothing_and_finishes(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl().install(api)

    result = run(logged_in_simkl)

    assert (count(logged_in_simkl, "plays"), count(logged_in_simkl, "ratings")) == (0, 0)
    assert (result.progress.processed, result.report) == (0, None)
    assert logged_in_simkl.store().conn.execute("SELECT state FROM imports").fetchone()[0] == "done"


# -- what becomes a play ---------------------------------------------------------------------------


def test_simkl_import_string_ids_become_integers(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl(movies=[movie("2026-11-10T20:00:00Z")]).install(api)

    run(logged_in_simkl)

    row = (
        logged_in_simkl.store()
        .conn.execute(
            "SELECT tmdb, typeof(tmdb), simkl, typeof(simkl), imdb FROM items WHERE kind = 'movie'"
        )
        .fetchone()
    )
    assert tuple(row) == (603, "integer", 53536, "integer", "tt0133093")


def test_simkl_import_movie_is_one_play_at_its_last_watched_at(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl(movies=[movie("2026-11-10T20:00:00Z")]).install(api)

    run(logged_in_simkl)

    rows = logged_in_simkl.store().conn.execute("SELECT watched_at, source FROM plays").fetchall()
    assert [tuple(r) for r in rows] == [(ts("2026-11-10T20:00:00Z"), "import:simkl")]


def test_simkl_import_unknown_date_is_not_a_play(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
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

    result = run(logged_in_simkl)

    rows = logged_in_simkl.store().conn.execute(
        "SELECT p.watched_at, i.kind, i.title, i.number FROM plays p"
        " JOIN items i ON i.id = p.item_id ORDER BY p.watched_at"
    )
    assert [tuple(r) for r in rows] == [
        (ts("2026-11-10T20:00:00Z"), "movie", "Heat", None),
        (ts("2026-11-11T21:00:00Z"), "episode", None, 2),
    ]
    assert result.report is None  # not a failure either: watched, date unknown


def test_simkl_import_episodes_are_plays_of_show_season_and_number(
    logged_in_simkl: Runtime, api: respx.MockRouter
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

    run(logged_in_simkl)

    rows = logged_in_simkl.store().conn.execute(
        "SELECT p.watched_at, e.season, e.number, s.title, s.tmdb FROM plays p"
        " JOIN items e ON e.id = p.item_id JOIN items s ON s.id = e.show_id ORDER BY p.watched_at"
    )
    assert [tuple(r) for r in rows] == [
        (ts("2026-11-01T20:00:00Z"), 1, 1, "Game of Thrones", 1399),
        (ts("2026-11-02T20:00:00Z"), 1, 2, "Game of Thrones", 1399),
        (ts("2026-11-03T20:00:00Z"), 2, 1, "Game of Thrones", 1399),
    ]


def test_simkl_import_anime_episodes_are_plays_too(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
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

    run(logged_in_simkl)

    row = (
        logged_in_simkl.store()
        .conn.execute(
            "SELECT s.title, s.tvdb, e.season, e.number FROM plays p"
            " JOIN items e ON e.id = p.item_id JOIN items s ON s.id = e.show_id"
        )
        .fetchone()
    )
    assert tuple(row) == ("Cowboy Bebop", 76885, 1, 1)


# -- ratings ---------------------------------------------------------------------------------------


def test_simkl_import_user_rating_lands_in_the_ratings_table(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    FakeSimkl(
        movies=[movie("2026-11-10T20:00:00Z", user_rating=9, rated_at="2026-11-10T22:00:00Z")],
        shows=[
            show({1: {1: "2026-11-01T20:00:00Z"}}, user_rating=6, rated_at="2026-11-02T08:00:00Z")
        ],
    ).install(api)

    run(logged_in_simkl)

    rows = logged_in_simkl.store().conn.execute(
        "SELECT i.kind, i.tmdb, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        ("show", 1399, 6.0, ts("2026-11-02T08:00:00Z"), "simkl"),
        ("movie", 603, 9.0, ts("2026-11-10T22:00:00Z"), "simkl"),
    ]


# -- incremental runs: the activities gate ---------------------------------------------------------


def test_simkl_incremental_run_with_unmoved_activities_makes_no_all_items_call(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    # The last activity is the rating, an hour after the newest play, and nothing changed since.
    fake = FakeSimkl(
        movies=[movie("2026-11-17T20:00:00Z", user_rating=8, rated_at="2026-11-17T21:00:00Z")],
        activities_all="2026-11-17T21:00:00Z",
    ).install(api)
    run(logged_in_simkl)
    first = len(fake.requests)

    run(logged_in_simkl)

    assert fake.paths[first:] == ["/sync/activities"]


def test_simkl_incremental_run_with_moved_activities_asks_all_items_after_the_last_play(
    logged_in_simkl: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeSimkl(
        movies=[movie("2026-11-17T20:00:00Z")], activities_all="2026-11-17T20:00:00Z"
    ).install(api)
    run(logged_in_simkl)
    first = len(fake.requests)
    fake.items["movies"].append(
        movie("2026-11-18T09:00:00Z", title="Heat", year=1995, ids={"simkl": "1", "tmdb": "949"})
    )
    fake.activities_all = "2026-11-18T09:00:00Z"

    run(logged_in_simkl)

    later = [(p, q) for p, q in fake.requests[first:] if p.startswith("/sync/all-items/")]
    since = iso(ts("2026-11-17T20:00:00Z") - OVERLAP)
    assert [(p, q.get("date_from")) for p, q in later] == [
        (f"/sync/all-items/{kind}", since) for kind in KINDS
    ]
    assert count(logged_in_simkl, "plays") == 2
