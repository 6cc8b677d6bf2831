"""`scrobctl import trakt` (sync/readers/trakt.py) through the real use case (sync/service.py):
`GET /sync/history` paged with page/limit and a fixed end_at (api-notes 4.1, 6), then
`GET /sync/ratings/movies` and `/episodes` (api-notes 5). respx stands in for api.trakt.tv with a
fake that honours the paging parameters the way the notes describe Trakt doing it.

The fakes and the data they serve: tests/histories/trakt.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import respx

from scrobctl.runtime import Runtime
from scrobctl.services import trakt
from scrobctl.sync.importer import ImportResult
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import NOW, PROFILE, watched_times
from tests.histories.trakt import (
    GOT,
    PAGE,
    SERVICE,
    FakeTrakt,
    episode,
    movie,
    movies,
    rating,
    watched_at,
)


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def times_of(entries: list[dict[str, Any]]) -> list[int]:
    return sorted((watched_at(e) for e in entries), reverse=True)


# -- paging ---------------------------------------------------------------------------------------


def test_trakt_import_empty_history_imports_nothing_and_finishes(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeTrakt([]).install(api)

    result = run(logged_in_trakt)

    assert fake.pages == [1]
    assert watched_times(logged_in_trakt) == []
    assert (result.progress.processed, result.progress.failed, result.report) == (0, 0, None)
    state = logged_in_trakt.store().conn.execute("SELECT state FROM imports").fetchone()[0]
    assert state == "done"


def test_trakt_import_exactly_one_full_page_is_one_history_request(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    entries = movies(PAGE)
    fake = FakeTrakt(entries).install(api)

    run(logged_in_trakt)

    assert fake.pages == [1]
    assert watched_times(logged_in_trakt) == times_of(entries)


def test_trakt_import_short_last_page_imports_every_play(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    entries = movies(2 * PAGE + 100)
    fake = FakeTrakt(entries).install(api)

    run(logged_in_trakt)

    assert fake.pages == [1, 2, 3]
    assert watched_times(logged_in_trakt) == times_of(entries)


def test_trakt_import_sends_limit_250_and_one_fixed_end_at_on_every_page(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    fake = FakeTrakt(movies(2 * PAGE + 100), clock=clock, tick=90).install(api)

    run(logged_in_trakt)

    assert [q.get("limit") for q in fake.requests] == ["250", "250", "250"]
    assert {q.get("end_at") for q in fake.requests} == {trakt.iso(NOW)}


def test_trakt_import_play_added_during_the_import_does_not_shift_the_pages(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    entries = movies(2 * PAGE + 100)
    fake = FakeTrakt(entries, clock=clock, tick=90).install(api)
    newcomers = iter(range(5000, 5010))

    def new_play(_query: dict[str, str]) -> None:  # someone watches while the import runs
        fake.add(movie(next(newcomers), int(clock.now())))

    fake.on_request.append(new_play)

    run(logged_in_trakt)

    assert watched_times(logged_in_trakt) == times_of(entries)


def test_trakt_import_reports_the_item_count_from_the_first_page(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    FakeTrakt(movies(2 * PAGE + 100)).install(api)
    totals: list[int | None] = []

    run(logged_in_trakt, on_page=lambda p: totals.append(p.total))

    assert totals[0] == 2 * PAGE + 100
    assert set(totals) == {2 * PAGE + 100}


def test_trakt_import_episodes_are_items_of_their_show_with_season_and_number(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    FakeTrakt([episode(1, 1, NOW - 7200), episode(1, 2, NOW - 3600)]).install(api)

    run(logged_in_trakt)

    rows = logged_in_trakt.store().conn.execute(
        "SELECT e.season, e.number, e.tmdb, s.title, s.tmdb FROM plays p"
        " JOIN items e ON e.id = p.item_id JOIN items s ON s.id = e.show_id"
        " ORDER BY p.watched_at"
    )
    assert [tuple(r) for r in rows] == [
        (1, 1, 63_101, "Game of Thrones", 1399),
        (1, 2, 63_102, "Game of Thrones", 1399),
    ]


def test_trakt_import_records_every_play_as_on_trakt(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    entries = movies(3)
    FakeTrakt(entries).install(api)

    run(logged_in_trakt)

    rows = logged_in_trakt.store().conn.execute(
        "SELECT s.service, s.scrobbled_at, s.source FROM scrobbles s ORDER BY s.scrobbled_at DESC"
    )
    assert [tuple(r) for r in rows] == [("trakt", t, "imported") for t in times_of(entries)]


# -- ratings --------------------------------------------------------------------------------------


def test_trakt_import_movie_and_episode_ratings_land_in_the_ratings_table_as_is(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    watched = [movie(1, NOW - 9000), movie(2, NOW - 8000), episode(2, 3, NOW - 7000)]
    fake = FakeTrakt(
        watched,
        ratings={
            "movies": [rating(watched[0], 10, NOW - 500), rating(watched[1], 1, NOW - 400)],
            "episodes": [rating(watched[2], 7, NOW - 300)],
        },
    ).install(api)

    run(logged_in_trakt)

    assert sorted(fake.rating_requests) == ["episodes", "movies", "seasons", "shows"]
    rows = logged_in_trakt.store().conn.execute(
        "SELECT i.kind, i.tmdb, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        ("movie", 1, 10.0, NOW - 500, "trakt"),
        ("movie", 2, 1.0, NOW - 400, "trakt"),
        ("episode", 63_203, 7.0, NOW - 300, "trakt"),
    ]


def test_trakt_import_rating_of_a_watched_movie_is_on_the_played_item(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    watched = movie(603, NOW - 9000)
    FakeTrakt([watched], ratings={"movies": [rating(watched, 9, NOW - 60)]}).install(api)

    run(logged_in_trakt)

    conn = logged_in_trakt.store().conn
    played = conn.execute("SELECT item_id FROM plays").fetchone()[0]
    rated = conn.execute("SELECT item_id FROM ratings").fetchone()[0]
    assert played == rated
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 1


def test_trakt_import_show_and_season_ratings_land_on_the_show_and_its_season(
    logged_in_trakt: Runtime, api: respx.MockRouter
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

    result = run(logged_in_trakt)

    conn = logged_in_trakt.store().conn
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
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    watched = movies(600)
    fake = FakeTrakt(
        [], ratings={"movies": [rating(m, 1 + i % 10, NOW - i) for i, m in enumerate(watched)]}
    )
    fake.forced_limit = 100
    fake.install(api)

    run(logged_in_trakt)

    assert logged_in_trakt.store().conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 600
    assert fake.rating_requests.count("movies") == 6
