"""`scrobctl import lastfm` (sync/readers/lastfm.py) through the real use case:
`user.getRecentTracks` paged with limit=200 and a fixed `to` (api-notes A.6), later pages fetched
concurrently and written in order, then `user.getLovedTracks` as ratings of 10 (A.7). respx stands
in for ws.audioscrobbler.com with a fake that answers in Last.fm's XML-shaped JSON.

The fakes and the data they serve: tests/histories/lastfm.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import respx

from scrobctl.runtime import Runtime
from scrobctl.sync.importer import ImportResult
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import NOW, PROFILE, watched_times
from tests.histories.lastfm import PAGE, SERVICE, FakeLastfm, Scrobble, scrobbles


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def times_of(items: list[Scrobble]) -> list[int]:
    return sorted((s.uts for s in items), reverse=True)


# -- paging -------------------------------------------------------------------------------------


def test_lastfm_import_empty_history_imports_nothing_and_finishes(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeLastfm([]).install(api)

    result = run(logged_in_lastfm)

    assert fake.pages == [1]
    assert watched_times(logged_in_lastfm) == []
    assert (result.progress.processed, result.report) == (0, None)
    assert (
        logged_in_lastfm.store().conn.execute("SELECT state FROM imports").fetchone()[0] == "done"
    )


def test_lastfm_import_exactly_one_full_page_is_one_request(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(PAGE)
    fake = FakeLastfm(items).install(api)

    run(logged_in_lastfm)

    assert fake.pages == [1]
    assert watched_times(logged_in_lastfm) == times_of(items)


def test_lastfm_import_short_last_page_imports_every_scrobble(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(2 * PAGE + 50)
    fake = FakeLastfm(items).install(api)

    run(logged_in_lastfm)

    assert sorted(fake.pages) == [1, 2, 3]
    assert watched_times(logged_in_lastfm) == times_of(items)


def test_lastfm_import_sends_limit_200_and_one_fixed_to_on_every_page(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    fake = FakeLastfm(scrobbles(5 * PAGE - 10), clock=clock, tick=120).install(api)

    run(logged_in_lastfm)

    assert sorted(fake.pages) == [1, 2, 3, 4, 5]
    assert {q.get("limit") for q in fake.recent} == {"200"}
    assert {q.get("to") for q in fake.recent} == {str(NOW)}


def test_lastfm_import_reports_the_total_from_the_first_page(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    FakeLastfm(scrobbles(2 * PAGE + 50)).install(api)
    totals: list[int | None] = []

    run(logged_in_lastfm, on_page=lambda p: totals.append(p.total))

    assert totals[0] == 2 * PAGE + 50


def test_lastfm_import_skips_the_now_playing_entry_on_every_page(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(2 * PAGE + 50)
    FakeLastfm(items, now_playing_everywhere=True).install(api)

    result = run(logged_in_lastfm)

    assert watched_times(logged_in_lastfm) == times_of(items)
    assert (result.progress.failed, result.report) == (0, None)
    titles = logged_in_lastfm.store().conn.execute("SELECT title FROM items").fetchall()
    assert "Playing Right Now" not in {r[0] for r in titles}


def test_lastfm_import_single_track_answered_as_a_bare_object_is_imported(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(PAGE + 1)  # the second page holds one track: a bare object, not a list
    FakeLastfm(items).install(api)

    run(logged_in_lastfm)

    assert watched_times(logged_in_lastfm) == times_of(items)


def test_lastfm_import_a_lone_scrobble_beside_now_playing_is_imported(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(1)
    FakeLastfm(items, now_playing=True).install(api)

    result = run(logged_in_lastfm)

    assert watched_times(logged_in_lastfm) == times_of(items)
    assert result.report is None


def test_lastfm_import_fetches_later_pages_concurrently(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeLastfm(scrobbles(5 * PAGE)).install(api)

    run(logged_in_lastfm)

    assert fake.max_in_flight > 1


def test_lastfm_import_writes_concurrent_pages_in_page_order(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(5 * PAGE)
    fake = FakeLastfm(items).install(api)
    fake.delays = {2: 40, 3: 20, 4: 10, 5: 0}  # answers arrive 5, 4, 3, 2

    run(logged_in_lastfm)

    assert fake.answered == [1, 5, 4, 3, 2]
    rows = logged_in_lastfm.store().conn.execute("SELECT watched_at FROM plays ORDER BY id")
    assert [r[0] for r in rows] == times_of(items)  # inserted newest first: page 1, 2, ... 5


def test_lastfm_import_records_every_scrobble_as_on_lastfm(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(3)
    FakeLastfm(items).install(api)

    run(logged_in_lastfm)

    rows = logged_in_lastfm.store().conn.execute(
        "SELECT service, scrobbled_at, source FROM scrobbles ORDER BY scrobbled_at DESC"
    )
    assert [tuple(r) for r in rows] == [("lastfm", t, "imported") for t in times_of(items)]


def test_lastfm_import_tracks_are_matched_by_artist_title_and_album(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    same = [Scrobble(NOW - 3000, "Hurt"), Scrobble(NOW - 1000, "hurt ")]  # case and spaces
    FakeLastfm(same).install(api)

    result = run(logged_in_lastfm)

    conn = logged_in_lastfm.store().conn
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM plays").fetchone()[0] == 2
    assert result.progress.matched == 0  # weak matches: no ids on either


# -- loved tracks -------------------------------------------------------------------------------


def test_lastfm_import_loved_tracks_are_ratings_of_10(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    loved = [
        Scrobble(NOW - 86_400, "Hurt", mbid="8d2338e6-7f1d-4b42-a2c8-1d2c8a1f3e7b"),
        Scrobble(NOW - 3600, "One"),
    ]
    FakeLastfm([], loved=loved).install(api)

    run(logged_in_lastfm)

    rows = logged_in_lastfm.store().conn.execute(
        "SELECT i.artist, i.title, i.mbid, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        (
            "Johnny Cash",
            "Hurt",
            "8d2338e6-7f1d-4b42-a2c8-1d2c8a1f3e7b",
            10.0,
            NOW - 86_400,
            "lastfm",
        ),
        ("Johnny Cash", "One", None, 10.0, NOW - 3600, "lastfm"),
    ]


def test_lastfm_import_love_of_a_scrobbled_track_rates_the_played_item(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    hurt = Scrobble(NOW - 3600, "Hurt")
    FakeLastfm([hurt], loved=[hurt]).install(api)

    run(logged_in_lastfm)

    conn = logged_in_lastfm.store().conn
    played = conn.execute("SELECT item_id FROM plays").fetchone()[0]
    rated = conn.execute("SELECT item_id FROM ratings").fetchone()[0]
    assert rated == played


# -- a later step that fails (issue #15) --------------------------------------------------------


def test_lastfm_import_loved_tracks_error_3_keeps_the_plays_complete_and_the_import_done(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(PAGE + 50)
    fake = FakeLastfm(items)
    fake.unsupported.add("user.getLovedTracks")
    fake.install(api)

    result = run(logged_in_lastfm)

    assert watched_times(logged_in_lastfm) == times_of(items)
    assert result.failed_step is not None and result.failed_step.step == "loved tracks"
    assert "error 3" in result.failed_step.error.reason
    row = logged_in_lastfm.store().conn.execute("SELECT state, high_water FROM imports").fetchone()
    assert tuple(row) == ("done", max(s.uts for s in items))
