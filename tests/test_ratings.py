"""Ratings: `scrobctl rate`, ratings that arrive on stdin, the effective rating of an item, and
`scrobctl export ratings` queueing one job per rating a service does not have yet, each in the
service's own terms (api-notes 5 and 10.3 for Trakt and Simkl, A.7 and B.7 for Last.fm and
ListenBrainz).

The CLI runs in-process through `scrobctl.cli.main` (typed errors become one line and an exit
code there); the queueing rules are checked on `export_ratings` with the fake clock.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrobctl.errors import UsageError
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest, IngestSummary
from scrobctl.scrobble.events import Event, Line
from scrobctl.store import connections, queue
from scrobctl.store.ratings import LOCAL, ExportSummary, effective_ratings, set_rating
from scrobctl.sync.export import export_ratings
from tests.conftest import FakeClock
from tests.helpers import json_data, make_runtime, run_main

PROFILE = "default"
DAY = 86_400
HOUR = 3_600
START = 1_795_000_000  # FakeClock's start
MATRIX = {"tmdb": 603, "imdb": "tt0133093"}
HURT_MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
SERVICES = ("trakt", "simkl", "lastfm", "listenbrainz")


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cli_uses_the_file_token_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process CLI opens the same store and token file as the test's runtime."""
    monkeypatch.setenv("SCROBCTL_TOKEN_STORE", "file")


def movie(tmdb: int, title: str, at: int = START - DAY, **ids: Any) -> Event:
    return Event.model_validate(
        {
            "type": "movie",
            "title": title,
            "ids": {"tmdb": tmdb, **ids},
            "duration_ms": 8_160_000,
            "percentage": 95,
            "watched_at": at,
        }
    )


def episode(show_tmdb: int, season: int, number: int, at: int = START - DAY) -> Event:
    return Event.model_validate(
        {
            "type": "episode",
            "title": f"Episode {number}",
            "show": {"title": "Some Show", "ids": {"tmdb": show_tmdb}},
            "season": season,
            "number": number,
            "ids": {"tvdb": 9_000_000 + season * 100 + number},
            "duration_ms": 3_300_000,
            "percentage": 95,
            "watched_at": at,
        }
    )


def track(title: str, mbid: str | None = None, at: int = START - DAY) -> Event:
    data: dict[str, Any] = {
        "type": "track",
        "title": title,
        "artist": "Johnny Cash",
        "duration_ms": 218_000,
        "watched_ms": 218_000,
        "watched_at": at,
    }
    if mbid:
        data["ids"] = {"mbid": mbid}
    return Event.model_validate(data)


def ingest(runtime: Runtime, *events: Event) -> IngestSummary:
    """Record the plays (no routes: nothing is queued for a service)."""
    lines = [Line(i + 1, e) for i, e in enumerate(events)]
    return Ingest(runtime.store(), {}, now=runtime.clock.now()).run(lines)


def item(runtime: Runtime, kind: str, **ids: Any) -> int:
    ((name, value),) = ids.items()
    row = (
        runtime.store()
        .conn.execute(f"SELECT id FROM items WHERE kind = ? AND {name} = ?", (kind, value))
        .fetchone()
    )
    assert row is not None, f"no {kind} with {name} {value}"
    return int(row[0])


def rate(
    runtime: Runtime,
    item_id: int,
    rating: float,
    rated_at: int | None,
    source: str = LOCAL,
    profile: str = PROFILE,
) -> None:
    with runtime.store().transaction() as conn:
        set_rating(conn, profile, item_id, rating, rated_at, source)


def login(runtime: Runtime, *services: str, profile: str = PROFILE) -> None:
    for service in services:
        connections.save_login(runtime.store(), profile, service, "rob")


def export(runtime: Runtime, to: str, **options: Any) -> ExportSummary:
    return export_ratings(runtime, to, options.pop("profile", PROFILE), **options)


def rating_jobs(runtime: Runtime, service: str | None = None) -> list[sqlite3.Row]:
    sql = "SELECT * FROM jobs WHERE kind = 'rating'"
    args: list[Any] = []
    if service is not None:
        sql += " AND service = ?"
        args.append(service)
    return runtime.store().conn.execute(sql + " ORDER BY id", args).fetchall()


def sent_values(runtime: Runtime, service: str) -> dict[int, float]:
    """{item id: value to send} of the pending rating jobs for `service`."""
    return {
        row["item_id"]: json.loads(row["payload"])["rating"]
        for row in rating_jobs(runtime, service)
        if row["state"] in queue.PENDING
    }


def ratings_table(runtime: Runtime) -> list[tuple[int, float, int | None, str]]:
    rows = runtime.store().conn.execute(
        "SELECT item_id, rating, rated_at, source FROM ratings ORDER BY item_id, source"
    )
    return [tuple(r) for r in rows]


def plays(runtime: Runtime) -> int:
    return int(runtime.store().conn.execute("SELECT count(*) FROM plays").fetchone()[0])


def finish(runtime: Runtime, service: str) -> None:
    """As a flush that sent every pending rating job for `service` leaves them."""
    ids = [r["id"] for r in rating_jobs(runtime, service) if r["state"] in queue.PENDING]
    queue.complete(runtime.store(), ids, runtime.clock.now())


# -- `scrobctl rate` --------------------------------------------------------------------------


def test_rate_by_id_records_a_local_rating_with_a_fraction(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, movie(603, "The Matrix", imdb="tt0133093"))
    matrix = item(no_logins, "movie", tmdb=603)
    before = int(datetime.now(UTC).timestamp())

    code, _, err = run_main(monkeypatch, capsys, "rate", "tmdb:603", "8.5")

    assert code == 0, err
    assert "rated movie The Matrix: 8.5/10" in err
    [(item_id, value, rated_at, source)] = ratings_table(no_logins)
    assert (item_id, value, source) == (matrix, 8.5, LOCAL)
    assert rated_at is not None and before <= rated_at <= before + 60


@pytest.mark.parametrize(
    ("kind", "title"), [("movie", "The Matrix"), ("show", "Some Show")], ids=["movie", "show"]
)
def test_rate_with_a_kind_prefix_picks_that_kind(
    no_logins: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    title: str,
) -> None:
    # TMDB numbers movies and shows separately: 603 is a movie and, here, a show too.
    ingest(no_logins, movie(603, "The Matrix"), episode(603, 1, 1))
    chosen = item(no_logins, kind, tmdb=603)

    code, _, err = run_main(monkeypatch, capsys, "rate", f"{kind}:tmdb:603", "7")

    assert code == 0, err
    assert f"rated {kind} {title}: 7/10" in err
    assert [(r[0], r[1]) for r in ratings_table(no_logins)] == [(chosen, 7.0)]


def test_rate_an_id_not_in_the_history_is_a_usage_error(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, movie(603, "The Matrix"))

    code, _, err = run_main(monkeypatch, capsys, "rate", "tmdb:604", "8")

    assert code == 2
    assert "no item with tmdb 604 in your history" in err
    assert ratings_table(no_logins) == []


def test_rate_an_unknown_id_name_is_a_usage_error(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, movie(603, "The Matrix"))

    code, _, err = run_main(monkeypatch, capsys, "rate", "netflix:603", "8")

    assert code == 2
    assert "'netflix:603' does not name an item" in err
    assert "tmdb:603" in err  # the hint shows the form
    assert ratings_table(no_logins) == []


def test_rate_an_id_naming_several_kinds_asks_which(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, movie(603, "The Matrix"), episode(603, 1, 1))

    code, _, err = run_main(monkeypatch, capsys, "rate", "tmdb:603", "8")

    assert code == 2
    assert "tmdb 603 names several kinds of item (movie, show)" in err
    assert "movie:tmdb:603" in err
    assert ratings_table(no_logins) == []


@pytest.mark.parametrize("value", ["0", "0.99", "10.01", "11"])
def test_rate_outside_1_to_10_is_a_usage_error(
    no_logins: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
) -> None:
    ingest(no_logins, movie(603, "The Matrix"))

    code, _, err = run_main(monkeypatch, capsys, "rate", "tmdb:603", value)

    assert code == 2
    assert "a rating is from 1 to 10" in err
    assert ratings_table(no_logins) == []


# -- ratings on stdin -------------------------------------------------------------------------


def test_stdin_rating_only_event_records_a_rating_and_no_play(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    at = START - HOUR
    event = {"type": "movie", "title": "The Matrix", "ids": MATRIX, "rating": 9, "watched_at": at}

    code, _, err = run_main(monkeypatch, capsys, "scrobble", stdin=json.dumps(event) + "\n")

    assert code == 0, err
    assert "rated 1" in err
    assert "queued 0" in err
    matrix = item(no_logins, "movie", tmdb=603)
    assert ratings_table(no_logins) == [(matrix, 9.0, at, LOCAL)]
    assert plays(no_logins) == 0


def test_stdin_rating_on_a_finished_play_records_both(no_logins: Runtime) -> None:
    event = Event(**{**vars(movie(603, "The Matrix", at=START - HOUR)), "rating": 7.5})

    summary = ingest(no_logins, event)

    assert (summary.rated, summary.rating_only, summary.recorded_only) == (1, 0, 1)
    assert plays(no_logins) == 1
    matrix = item(no_logins, "movie", tmdb=603)
    assert ratings_table(no_logins) == [(matrix, 7.5, START - HOUR, LOCAL)]


# -- the effective rating ---------------------------------------------------------------------


def effective(runtime: Runtime, source: str | None = None) -> dict[int, tuple[float, str]]:
    rows = effective_ratings(runtime.store(), PROFILE, source=source, since=None)
    return {r["item_id"]: (r["rating"], r["source"]) for r in rows}


def test_effective_rating_is_the_newest_across_sources(no_logins: Runtime) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    rate(no_logins, matrix, 9, START - 3 * DAY)  # local, oldest
    rate(no_logins, matrix, 8, START - 2 * DAY, "trakt")
    rate(no_logins, matrix, 6, START - DAY, "simkl")  # newest

    assert effective(no_logins) == {matrix: (6.0, "simkl")}


def test_effective_rating_a_local_rating_wins_a_tie(no_logins: Runtime) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    rate(no_logins, matrix, 7, START - DAY, "trakt")
    rate(no_logins, matrix, 9, START - DAY)  # local, same second
    rate(no_logins, matrix, 5, START - DAY, "simkl")

    assert effective(no_logins) == {matrix: (9.0, LOCAL)}


# -- export: what gets queued -----------------------------------------------------------------


@pytest.fixture
def three_movies(no_logins: Runtime) -> list[int]:
    """The Matrix (9), Reloaded (6.5) and Revolutions (4), rated locally over three days."""
    ingest(no_logins, movie(603, "The Matrix"), movie(604, "Reloaded"), movie(605, "Revolutions"))
    ids = [item(no_logins, "movie", tmdb=n) for n in (603, 604, 605)]
    for days, (item_id, value) in enumerate(zip(ids, (9, 6.5, 4), strict=True), start=1):
        rate(no_logins, item_id, value, START - days * DAY)
    login(no_logins, *SERVICES)
    return ids


def test_export_queues_one_job_per_rating_with_its_value(
    no_logins: Runtime, three_movies: list[int]
) -> None:
    summary = export(no_logins, "trakt")

    assert (summary.queued, summary.unchanged, summary.already_there) == (3, 0, 0)
    jobs = rating_jobs(no_logins, "trakt")
    assert [(r["item_id"], r["state"], r["attempt"]) for r in jobs] == [
        (i, queue.AVAILABLE, 0) for i in three_movies
    ]
    assert [json.loads(r["payload"]) for r in jobs] == [
        {"rating": 9.0, "rated_at": START - DAY},
        {"rating": 7.0, "rated_at": START - 2 * DAY},  # 6.5 rounds half up
        {"rating": 4.0, "rated_at": START - 3 * DAY},
    ]
    assert [r["play_id"] for r in jobs] == [None] * 3


def test_export_again_queues_nothing(no_logins: Runtime, three_movies: list[int]) -> None:
    export(no_logins, "trakt")

    again = export(no_logins, "trakt")

    assert (again.queued, again.unchanged) == (0, 3)
    assert len(rating_jobs(no_logins)) == 3


def test_export_again_after_the_jobs_were_sent_queues_nothing(
    no_logins: Runtime, three_movies: list[int]
) -> None:
    export(no_logins, "trakt")
    finish(no_logins, "trakt")

    again = export(no_logins, "trakt")

    assert again.queued == 0
    assert {r["state"] for r in rating_jobs(no_logins)} == {queue.COMPLETED}


def test_export_a_changed_rating_replaces_the_unsent_job_for_the_old_value(
    no_logins: Runtime, three_movies: list[int], clock: FakeClock
) -> None:
    matrix = three_movies[0]
    export(no_logins, "trakt")
    rate(no_logins, matrix, 5, int(clock.now()))

    again = export(no_logins, "trakt")

    assert (again.queued, again.unchanged) == (1, 2)
    assert sent_values(no_logins, "trakt") == {
        matrix: 5.0,
        three_movies[1]: 7.0,
        three_movies[2]: 4.0,
    }
    assert len(rating_jobs(no_logins, "trakt")) == 3  # the job for 9 is gone


def test_export_a_rating_changed_after_it_was_sent_queues_the_new_value(
    no_logins: Runtime, three_movies: list[int], clock: FakeClock
) -> None:
    matrix = three_movies[0]
    export(no_logins, "trakt")
    finish(no_logins, "trakt")
    rate(no_logins, matrix, 5, int(clock.now()))

    again = export(no_logins, "trakt")

    assert again.queued == 1
    assert sent_values(no_logins, "trakt") == {matrix: 5.0}


def test_export_a_rating_changed_back_to_an_earlier_sent_value_queues_it_again(
    no_logins: Runtime, three_movies: list[int], clock: FakeClock
) -> None:
    matrix = three_movies[0]
    export(no_logins, "trakt")  # 9
    finish(no_logins, "trakt")
    rate(no_logins, matrix, 5, int(clock.now()))
    export(no_logins, "trakt")  # 5
    finish(no_logins, "trakt")
    clock.t += HOUR
    rate(no_logins, matrix, 9, int(clock.now()))  # back to 9: Trakt holds 5

    again = export(no_logins, "trakt")

    assert again.queued == 1
    assert sent_values(no_logins, "trakt") == {matrix: 9.0}


def test_export_from_one_source_leaves_the_others_out(no_logins: Runtime) -> None:
    ingest(no_logins, movie(603, "The Matrix"), movie(604, "Reloaded"), movie(605, "Revolutions"))
    matrix, reloaded, revolutions = (item(no_logins, "movie", tmdb=n) for n in (603, 604, 605))
    rate(no_logins, matrix, 8, START - DAY, "trakt")
    rate(no_logins, reloaded, 6, START - DAY, "lastfm")
    rate(no_logins, revolutions, 4, START - DAY)
    login(no_logins, "simkl")

    summary = export(no_logins, "simkl", source="trakt")

    assert summary.queued == 1
    assert sent_values(no_logins, "simkl") == {matrix: 8.0}


def test_export_since_leaves_older_ratings_out(no_logins: Runtime, three_movies: list[int]) -> None:
    summary = export(no_logins, "trakt", since=START - 2 * DAY)  # 9 a day ago, 6.5 two days ago

    assert summary.queued == 2
    assert sent_values(no_logins, "trakt") == {three_movies[0]: 9.0, three_movies[1]: 7.0}


def test_export_since_compares_with_the_effective_ratings_time(no_logins: Runtime) -> None:
    # Rated long ago on Trakt, changed locally yesterday: the item is in --since yesterday.
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    rate(no_logins, matrix, 9, START - 300 * DAY, "trakt")
    rate(no_logins, matrix, 6, START - DAY)
    login(no_logins, "simkl")

    summary = export(no_logins, "simkl", since=START - 2 * DAY)

    assert summary.queued == 1
    assert sent_values(no_logins, "simkl") == {matrix: 6.0}


def test_export_dry_run_queues_nothing_and_counts_what_it_would(
    no_logins: Runtime, three_movies: list[int]
) -> None:
    summary = export(no_logins, "trakt", dry_run=True)

    assert summary.queued == 3
    assert rating_jobs(no_logins) == []
    assert export(no_logins, "trakt").queued == 3  # the dry run left no trace


def test_export_to_a_service_that_already_has_the_same_value_queues_nothing(
    no_logins: Runtime,
) -> None:
    ingest(no_logins, movie(603, "The Matrix"), movie(604, "Reloaded"))
    matrix, reloaded = item(no_logins, "movie", tmdb=603), item(no_logins, "movie", tmdb=604)
    rate(no_logins, matrix, 8, START - 2 * DAY, "trakt")  # imported from Trakt
    rate(no_logins, matrix, 7.6, START - DAY)  # re-rated locally: still 8 for Trakt
    rate(no_logins, reloaded, 6, START - DAY, "trakt")  # Trakt's own rating is the newest
    login(no_logins, "trakt")

    summary = export(no_logins, "trakt")

    assert (summary.queued, summary.already_there) == (0, 2)
    assert rating_jobs(no_logins) == []


def test_export_to_a_service_that_has_another_value_queues_the_newer_one(
    no_logins: Runtime,
) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    rate(no_logins, matrix, 8, START - 2 * DAY, "trakt")
    rate(no_logins, matrix, 6, START - DAY)
    login(no_logins, "trakt")

    summary = export(no_logins, "trakt")

    assert (summary.queued, summary.already_there) == (1, 0)
    assert sent_values(no_logins, "trakt") == {matrix: 6.0}


def test_export_to_a_service_not_logged_in_is_a_usage_error(no_logins: Runtime) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    rate(no_logins, item(no_logins, "movie", tmdb=603), 8, START - DAY)

    with pytest.raises(UsageError, match="not logged in to simkl"):
        export(no_logins, "simkl")

    assert rating_jobs(no_logins) == []


def test_export_the_same_rating_from_two_profiles_queues_both(no_logins: Runtime) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    for profile in ("alice", "bob"):
        rate(no_logins, matrix, 8, START - DAY, profile=profile)
        login(no_logins, "trakt", profile=profile)

    alice = export(no_logins, "trakt", profile="alice")
    bob = export(no_logins, "trakt", profile="bob")

    assert (alice.queued, bob.queued) == (1, 1)
    assert sorted(r["profile"] for r in rating_jobs(no_logins)) == ["alice", "bob"]


# -- conversions --------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["trakt", "simkl"])
@pytest.mark.parametrize(
    ("local", "sent"), [(7.5, 8.0), (7.4, 7.0), (7.49, 7.0), (8.5, 9.0), (1.0, 1.0), (10.0, 10.0)]
)
def test_export_trakt_and_simkl_get_whole_numbers_rounded_half_up(
    no_logins: Runtime, service: str, local: float, sent: float
) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    rate(no_logins, matrix, local, START - DAY)
    login(no_logins, service)

    export(no_logins, service)

    assert sent_values(no_logins, service) == {matrix: sent}


def test_export_simkl_refuses_episodes_which_trakt_takes(no_logins: Runtime) -> None:
    ingest(no_logins, episode(1399, 1, 1))
    got = item(no_logins, "episode", tvdb=9_000_101)
    rate(no_logins, got, 9, START - DAY)
    login(no_logins, "simkl", "trakt")

    to_simkl = export(no_logins, "simkl")
    to_trakt = export(no_logins, "trakt")

    assert (to_simkl.queued, to_simkl.skipped) == (0, [(got, "simkl does not rate episodes")])
    assert sent_values(no_logins, "simkl") == {}
    assert (to_trakt.queued, to_trakt.skipped) == (1, [])


def test_export_video_services_skip_tracks(no_logins: Runtime) -> None:
    ingest(no_logins, track("Hurt", HURT_MBID))
    hurt = item(no_logins, "track", mbid=HURT_MBID)
    rate(no_logins, hurt, 9, START - DAY)
    login(no_logins, "trakt")

    summary = export(no_logins, "trakt")

    assert (summary.queued, summary.skipped) == (0, [(hurt, "trakt does not rate tracks")])


def music(runtime: Runtime, ratings: dict[str, float], mbid: bool = True) -> dict[str, int]:
    """One track per title, rated locally; {title: item id}."""
    ingest(
        runtime,
        *(
            track(title, f"00000000-0000-4000-8000-{i:012d}" if mbid else None)
            for i, title in enumerate(ratings)
        ),
    )
    rows = runtime.store().conn.execute("SELECT title, id FROM items WHERE kind = 'track'")
    ids = {title: item_id for title, item_id in rows}
    for title, value in ratings.items():
        rate(runtime, ids[title], value, START - DAY)
    return ids


def test_export_lastfm_loves_only_at_or_above_the_threshold(no_logins: Runtime) -> None:
    ids = music(no_logins, {"Hurt": 8, "Jackson": 7.9, "One": 10, "Ring of Fire": 3})
    login(no_logins, "lastfm")

    summary = export(no_logins, "lastfm")

    assert sent_values(no_logins, "lastfm") == {ids["Hurt"]: 1.0, ids["One"]: 1.0}
    assert sorted(summary.skipped) == sorted(
        [
            (ids["Jackson"], "below the love threshold (8)"),
            (ids["Ring of Fire"], "below the love threshold (8)"),
        ]
    )


def test_export_lastfm_track_already_loved_there_gets_no_new_love(no_logins: Runtime) -> None:
    ids = music(no_logins, {"Hurt": 9})
    rate(
        no_logins, ids["Hurt"], 10, START - 30 * DAY, "lastfm"
    )  # imported from user.getLovedTracks
    login(no_logins, "lastfm")

    summary = export(no_logins, "lastfm")

    assert (summary.queued, summary.already_there) == (0, 1)
    assert rating_jobs(no_logins) == []


def test_export_lastfm_love_threshold_is_a_setting(isolated_env: Path, clock: FakeClock) -> None:
    runtime = make_runtime(isolated_env, clock, lastfm={"love_threshold": "6.5"})
    try:
        ids = music(runtime, {"Hurt": 6.5, "Jackson": 6.4})
        login(runtime, "lastfm")

        export(runtime, "lastfm")

        assert sent_values(runtime, "lastfm") == {ids["Hurt"]: 1.0}
    finally:
        runtime.close()


def test_export_lastfm_does_not_love_movies(no_logins: Runtime) -> None:
    ingest(no_logins, movie(603, "The Matrix"))
    matrix = item(no_logins, "movie", tmdb=603)
    rate(no_logins, matrix, 10, START - DAY)
    login(no_logins, "lastfm")

    summary = export(no_logins, "lastfm")

    assert (summary.queued, summary.skipped) == (0, [(matrix, "Last.fm only loves tracks")])


def test_export_listenbrainz_feedback_is_plus_or_minus_one_by_the_thresholds(
    no_logins: Runtime,
) -> None:
    ids = music(no_logins, {"Hurt": 8, "One": 10, "Jackson": 3, "Walk the Line": 1, "Ring": 5})
    login(no_logins, "listenbrainz")

    summary = export(no_logins, "listenbrainz")

    assert sent_values(no_logins, "listenbrainz") == {
        ids["Hurt"]: 1.0,
        ids["One"]: 1.0,
        ids["Jackson"]: -1.0,
        ids["Walk the Line"]: -1.0,
    }
    assert summary.skipped == [(ids["Ring"], "between the thresholds (3-8)")]


@pytest.mark.parametrize(("imported", "local"), [(10, 9), (1, 2)], ids=["loved", "hated"])
def test_export_listenbrainz_recording_with_that_feedback_already_gets_none(
    no_logins: Runtime, imported: float, local: float
) -> None:
    ids = music(no_logins, {"Hurt": local})
    rate(no_logins, ids["Hurt"], imported, START - 30 * DAY, "listenbrainz")  # imported feedback
    login(no_logins, "listenbrainz")

    summary = export(no_logins, "listenbrainz")

    assert (summary.queued, summary.already_there) == (0, 1)
    assert rating_jobs(no_logins) == []


def test_export_listenbrainz_items_without_an_mbid_are_not_exportable(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    music(no_logins, {"Hurt": 9, "One": 2}, mbid=False)
    login(no_logins, "listenbrainz")

    code, _, err = run_main(monkeypatch, capsys, "export", "ratings", "--to", "listenbrainz")

    assert code == 0, err
    assert "listenbrainz: queued 0, already there 0, queued before 0, not exportable 2" in err
    assert "2 not exportable: no recording MBID" in err
    assert rating_jobs(no_logins) == []


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_export_summary_counts_queued_and_queued_before(
    no_logins: Runtime,
    three_movies: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = run_main(monkeypatch, capsys, "export", "ratings", "--to", "trakt")
    second = run_main(monkeypatch, capsys, "export", "ratings", "--to", "trakt")

    assert first[0] == second[0] == 0
    assert "trakt: queued 3, already there 0, queued before 0, not exportable 0" in first[2]
    assert "trakt: queued 0, already there 0, queued before 3, not exportable 0" in second[2]


def test_cli_export_dry_run_says_would_queue_and_queues_nothing(
    no_logins: Runtime,
    three_movies: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(monkeypatch, capsys, "export", "ratings", "--to", "simkl", "--dry-run")

    assert code == 0, err
    assert "simkl: would queue 3," in err
    assert rating_jobs(no_logins) == []


def test_cli_export_dry_run_says_what_would_go_where(
    no_logins: Runtime,
    three_movies: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(monkeypatch, capsys, "export", "ratings", "--to", "trakt", "--dry-run")

    assert code == 0, err
    lines = err.splitlines()
    start = lines.index("trakt: would queue 3, already there 0, queued before 0, not exportable 0")
    assert lines[start + 1 : start + 4] == [
        "  The Matrix: 9/10",
        "  Reloaded: 7/10",  # as Trakt takes it: 6.5 rounds half up
        "  Revolutions: 4/10",
    ]
    assert rating_jobs(no_logins) == []


def test_cli_export_dry_run_to_lastfm_names_the_loves(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, track("Hurt"))
    rate(no_logins, item(no_logins, "track", title="Hurt"), 9, START - DAY)
    login(no_logins, "lastfm")

    code, _, err = run_main(monkeypatch, capsys, "export", "ratings", "--to", "lastfm", "--dry-run")

    assert code == 0, err
    assert "  Johnny Cash - Hurt: love" in err.splitlines()


def test_cli_export_json_summary_has_the_documented_shape(
    no_logins: Runtime,
    three_movies: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_main(
        monkeypatch, capsys, "export", "ratings", "--to", "simkl", "--dry-run", "--json"
    )

    assert code == 0, err
    assert json.loads(out)["data"] == {
        "service": "simkl",
        "dry_run": True,
        "queued": 3,
        "already_there": 0,
        "queued_before": 0,
        "not_exportable": {},
        "items": [
            {"item": "The Matrix", "rating": 9.0},
            {"item": "Reloaded", "rating": 7.0},
            {"item": "Revolutions", "rating": 4.0},
        ],
    }
    assert rating_jobs(no_logins) == []
    code, out, err = run_main(monkeypatch, capsys, "export", "ratings", "--to", "simkl", "--json")
    assert code == 0, err
    assert json.loads(out)["data"]["queued"] == 3 and json.loads(out)["data"]["dry_run"] is False
    assert len(rating_jobs(no_logins)) == 3


def test_cli_export_since_takes_a_date(
    no_logins: Runtime,
    three_movies: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The Matrix was rated a day before START (2026-11-18T08:26:40Z), the others earlier.
    since = datetime.fromtimestamp(START - DAY - 60, UTC).isoformat()

    code, _, err = run_main(
        monkeypatch, capsys, "export", "ratings", "--to", "trakt", "--since", since
    )

    assert code == 0, err
    assert "trakt: queued 1," in err
    assert sent_values(no_logins, "trakt") == {three_movies[0]: 9.0}


def test_cli_export_from_takes_a_service(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, movie(603, "The Matrix"), movie(604, "Reloaded"))
    matrix, reloaded = item(no_logins, "movie", tmdb=603), item(no_logins, "movie", tmdb=604)
    rate(no_logins, matrix, 8, START - DAY, "trakt")
    rate(no_logins, reloaded, 6, START - DAY)
    login(no_logins, "simkl")

    code, _, err = run_main(
        monkeypatch, capsys, "export", "ratings", "--from", "trakt", "--to", "simkl"
    )

    assert code == 0, err
    assert "simkl: queued 1," in err
    assert sent_values(no_logins, "simkl") == {matrix: 8.0}


def test_cli_queue_list_shows_rating_jobs_as_rating_n_and_the_title(
    no_logins: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(no_logins, movie(603, "The Matrix"), track("Hurt", HURT_MBID))
    rate(no_logins, item(no_logins, "movie", tmdb=603), 7.5, START - DAY)
    rate(no_logins, item(no_logins, "track", mbid=HURT_MBID), 9, START - DAY)
    login(no_logins, "trakt", "listenbrainz")
    export(no_logins, "trakt")
    export(no_logins, "listenbrainz")

    code, out, err = run_main(monkeypatch, capsys, "queue", "list", "--json")

    assert code == 0, err
    listed = [(j["kind"], j["service"], j["item"]) for j in json_data(out)["jobs"]]
    assert listed == [  # newest first
        ("rating", "listenbrainz", "rating 1: Johnny Cash - Hurt"),
        ("rating", "trakt", "rating 8: The Matrix"),
    ]
