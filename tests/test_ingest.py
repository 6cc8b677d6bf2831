"""From stdin lines to items, plays and queued jobs: thresholds, duplicates, routing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from scrobctl.scrobble.enqueue import Ingest, IngestSummary, item_ref
from scrobctl.scrobble.events import Event, read_events
from scrobctl.store.items import ItemResolver

NOW = 1_795_000_000.0
T = 1_794_000_000  # a play about 11 days before NOW
LB = {"default": {"track": ["listenbrainz"]}}


def track(title: str = "Hurt", **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "title": title,
        "artist": "Johnny Cash",
        "album": "American IV",
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": T,
    } | fields


def movie(ids: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": "movie",
        "title": "The Matrix",
        "year": 1999,
        "duration_ms": 8_160_000,
        "percentage": 92.5,
        "watched_at": T,
        "ids": ids,
    } | fields


def ingest(
    store: Any, *events: dict[str, Any] | str, routes: Any = LB, **options: Any
) -> IngestSummary:
    text = "\n".join(e if isinstance(e, str) else json.dumps(e) for e in events) + "\n"
    lines = read_events(io.BytesIO(text.encode()))
    return Ingest(store, routes, now=NOW, **options).run(lines)


def count(store: Any, table: str) -> int:
    return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def jobs(store: Any) -> list[tuple[str, str]]:
    rows = store.conn.execute("SELECT service, profile FROM jobs ORDER BY service, profile")
    return [(r[0], r[1]) for r in rows]


# --- queueing ------------------------------------------------------------------------------------


def test_ingest_valid_play_queues_one_job_per_routed_service(store: Any) -> None:
    routes = {"default": {"track": ["lastfm", "listenbrainz"]}}
    summary = ingest(store, track(), routes=routes)
    assert summary.queued == 1
    assert summary.jobs == {"lastfm": 1, "listenbrainz": 1}
    assert count(store, "plays") == 1
    assert jobs(store) == [("lastfm", "default"), ("listenbrainz", "default")]
    states = store.conn.execute("SELECT DISTINCT state, play_id FROM jobs").fetchall()
    assert [tuple(r) for r in states] == [("available", 1)]


def test_ingest_same_events_twice_are_queued_once(store: Any) -> None:
    events = [track(f"Song {i}", watched_at=T + i * 300) for i in range(100)]
    first = ingest(store, *events)
    second = ingest(store, *events)
    assert (first.queued, first.duplicate) == (100, 0)
    assert (second.queued, second.duplicate, second.jobs) == (0, 100, {})
    assert count(store, "plays") == 100
    assert count(store, "jobs") == 100


def test_ingest_progress_pings_of_the_same_play_are_one_play(store: Any) -> None:
    # 200 s track: pings whose watched_at is within 100 s of the first are the same play.
    summary = ingest(
        store,
        track(watched_at=T, watched_ms=110_000),
        track(watched_at=T + 10, watched_ms=120_000),
        track(watched_at=T + 99, watched_ms=190_000),
    )
    assert (summary.queued, summary.duplicate) == (1, 2)
    assert count(store, "plays") == 1
    assert count(store, "jobs") == 1


def test_ingest_same_track_half_its_length_later_is_a_second_play(store: Any) -> None:
    summary = ingest(store, track(watched_at=T), track(watched_at=T + 100))
    assert (summary.queued, summary.duplicate) == (2, 0)
    assert count(store, "plays") == 2
    assert count(store, "jobs") == 2
    assert count(store, "items") == 1


def test_ingest_below_threshold_is_counted_and_queues_nothing(store: Any) -> None:
    summary = ingest(store, track(watched_ms=99_999), track("Short", duration_ms=29_000))
    assert summary.below_threshold == 2
    assert summary.queued == 0
    assert count(store, "plays") == 0
    assert count(store, "jobs") == 0


def test_ingest_invalid_lines_are_counted_with_numbers_and_valid_ones_queued(store: Any) -> None:
    summary = ingest(store, track("A"), "{oops", track("B"), {"type": "movie"}, track("C"))
    assert [number for number, _ in summary.invalid] == [2, 4]
    assert "a movie needs an id" in summary.invalid[1][1]
    assert summary.queued == 3
    assert count(store, "plays") == 3
    assert count(store, "jobs") == 3


def test_ingest_event_that_cannot_be_judged_is_invalid(store: Any) -> None:
    summary = ingest(store, track(duration_ms=None, watched_ms=None, percentage=None))
    assert summary.invalid == [(1, "needs 'percentage' or 'watched_ms' (with 'duration_ms')")]
    assert count(store, "plays") == 0


def test_ingest_dry_run_queues_and_records_nothing(store: Any) -> None:
    summary = ingest(store, track(), movie({"tmdb": 603}), dry_run=True)
    assert (summary.queued, summary.recorded_only) == (1, 1)
    assert count(store, "items") == 0
    assert count(store, "plays") == 0
    assert count(store, "jobs") == 0


def test_ingest_play_with_no_routed_service_is_recorded_only(store: Any) -> None:
    summary = ingest(store, movie({"tmdb": 603}))
    assert (summary.queued, summary.recorded_only) == (0, 1)
    assert count(store, "plays") == 1
    assert count(store, "jobs") == 0


def test_ingest_start_event_is_not_a_play(store: Any) -> None:
    summary = ingest(store, track(event="start"), track(event="pause"))
    assert summary.not_a_play == 2
    assert count(store, "plays") == 0
    assert count(store, "jobs") == 0


def test_ingest_watched_at_defaults_to_now_minus_watched_ms(store: Any) -> None:
    event = track(watched_ms=150_000)
    del event["watched_at"]
    ingest(store, event)
    assert store.conn.execute("SELECT watched_at FROM plays").fetchone()[0] == NOW - 150


def test_ingest_watched_at_in_the_future_is_invalid(store: Any) -> None:
    summary = ingest(store, track(watched_at=int(NOW) + 3600))
    assert summary.invalid == [(1, "watched_at is in the future")]
    assert count(store, "plays") == 0
    assert count(store, "jobs") == 0


# --- items ---------------------------------------------------------------------------------------


def test_items_same_movie_by_tmdb_id_is_one_item(store: Any) -> None:
    ingest(
        store, movie({"tmdb": 603}), movie({"tmdb": "603"}, title="Matrix", watched_at=T + 86400)
    )
    assert count(store, "items") == 1
    assert count(store, "plays") == 2


def test_items_movie_known_by_tmdb_and_imdb_is_found_by_imdb_alone(store: Any) -> None:
    ingest(
        store,
        movie({"tmdb": 603, "imdb": "tt0133093"}),
        movie({"imdb": "tt0133093"}, watched_at=T + 86400),
    )
    rows = store.conn.execute("SELECT tmdb, imdb FROM items").fetchall()
    assert [tuple(r) for r in rows] == [(603, "tt0133093")]
    assert count(store, "plays") == 2


def test_items_music_with_mbid_matches_regardless_of_title(store: Any) -> None:
    ingest(
        store,
        track("Hurt", ids={"mbid": "rec-1"}),
        track("HURT (Remastered 2002)", album=None, ids={"mbid": "rec-1"}, watched_at=T + 1000),
    )
    assert count(store, "items") == 1
    assert count(store, "plays") == 2


def test_items_music_without_ids_matches_normalised_artist_title_album(store: Any) -> None:
    other = track(" HURT ", artist="johnny   CASH", album="american  iv", watched_at=T + 1000)
    ingest(store, track(), other)
    assert count(store, "items") == 1
    assert count(store, "plays") == 2


def test_items_music_without_ids_is_a_weak_match(store: Any) -> None:
    ingest(store, track())
    item_id, weak = ItemResolver(store.conn).resolve(
        item_ref(Event.model_validate(track(" hurt", artist="JOHNNY CASH")))
    )
    assert (item_id, weak) == (1, True)


def test_items_music_on_another_album_is_another_item(store: Any) -> None:
    ingest(store, track(), track(album="Unearthed", watched_at=T + 1000))
    assert count(store, "items") == 2


# --- services and profiles -----------------------------------------------------------------------


def imported_from_listenbrainz(store: Any, *, mbid: str, at: int) -> None:
    item_id = store.conn.execute(
        "INSERT INTO items (kind, title, artist, mbid) VALUES ('track', 'Hurt', 'Johnny Cash', ?)",
        (mbid,),
    ).lastrowid
    store.conn.execute(
        "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source)"
        " VALUES ('default', 'listenbrainz', ?, ?, 'imported')",
        (item_id, at),
    )


def test_ingest_play_already_on_a_service_is_not_queued_there(store: Any) -> None:
    imported_from_listenbrainz(store, mbid="rec-1", at=T)
    routes = {"default": {"track": ["lastfm", "listenbrainz"]}}
    summary = ingest(store, track(ids={"mbid": "rec-1"}, watched_at=T + 30), routes=routes)
    assert summary.jobs == {"lastfm": 1}
    assert count(store, "plays") == 1
    assert jobs(store) == [("lastfm", "default")]


def test_ingest_play_already_on_its_only_service_creates_no_job(store: Any) -> None:
    imported_from_listenbrainz(store, mbid="rec-1", at=T)
    summary = ingest(store, track(ids={"mbid": "rec-1"}))
    assert summary.queued == 0
    assert summary.jobs == {}
    assert count(store, "jobs") == 0


def test_ingest_profile_events_go_only_to_that_profiles_services(store: Any) -> None:
    routes = {"default": {"track": ["listenbrainz"]}, "kids": {"track": ["lastfm"]}}
    summary = ingest(store, track(profile="kids"), routes=routes)
    assert summary.jobs == {"lastfm": 1}
    assert jobs(store) == [("lastfm", "kids")]
    assert store.conn.execute("SELECT profile FROM plays").fetchone()[0] == "kids"


def test_ingest_profile_without_routes_is_recorded_only(store: Any) -> None:
    summary = ingest(store, track(profile="guest"))
    assert (summary.queued, summary.recorded_only) == (0, 1)
    assert count(store, "plays") == 1
    assert count(store, "jobs") == 0


# --- batches -------------------------------------------------------------------------------------


def lines_of(*events: dict[str, Any]) -> list[Any]:
    text = "\n".join(json.dumps(e) for e in events) + "\n"
    return list(read_events(io.BytesIO(text.encode())))


def _but_created_at(row: Any) -> tuple[Any, ...]:
    return tuple(value for key, value in zip(row.keys(), row, strict=True) if key != "created_at")


def test_items_resolved_in_a_batch_are_those_resolved_one_by_one(tmp_path: Any) -> None:
    from scrobctl.store import open_store

    show = {"title": "Severance", "ids": {"tmdb": 95396}}
    events = [
        track(),
        track(" HURT ", artist="johnny cash"),  # the same item, spelt differently
        track(album=None),  # no album: the same artist and title
        track("Hurt", ids={"mbid": "rec-1"}),  # learns the MBID
        track("Personal Jesus", album=None),
        track("Personal Jesus", album="American IV"),
        movie({"tmdb": 603}),
        movie({"imdb": "tt0133093"}),
        movie({"tmdb": 603, "imdb": "tt0133093"}),
        {"type": "episode", "show": show, "season": 1, "number": 1, "percentage": 90},
        {"type": "episode", "show": show, "season": 1, "number": 2, "percentage": 90},
        {"type": "episode", "show": show, "season": 1, "number": 1, "percentage": 90},
    ]
    refs = [item_ref(Event.model_validate(e)) for e in events]
    one, batch = open_store(tmp_path / "one.db"), open_store(tmp_path / "batch.db")
    try:
        by_one = [ItemResolver(one.conn).resolve(ref) for ref in refs]
        batch.conn.execute("BEGIN IMMEDIATE")
        by_batch = ItemResolver(batch.conn).resolve_batch(refs)
        batch.conn.execute("COMMIT")
        table = "SELECT * FROM items ORDER BY id"
        rows_one = [_but_created_at(r) for r in one.conn.execute(table)]
        rows_batch = [_but_created_at(r) for r in batch.conn.execute(table)]
    finally:
        one.close()
        batch.close()
    assert by_batch == by_one
    assert rows_batch == rows_one


def test_a_batch_finds_what_the_database_has_as_one_by_one_look_ups_do(tmp_path: Any) -> None:
    """The batch's one probe reads the weak-key index by artist and title; the items it finds
    already stored are those the look-ups of each line find, whatever an album starts with."""
    from scrobctl.store import open_store

    stored = [track(album="\U0001f600 Live"), track("Personal Jesus"), track("Rusty", album=None)]
    then = [
        track(album="\U0001f600 Live"),  # an album beyond U+FFFF: still the same item
        track(album=None),  # no album: the same artist and title
        track("Personal Jesus", album=None),
        track("Rusty", album="Unchained"),
        track("New One"),
        track("New One", album=None),
    ]
    refs = [item_ref(Event.model_validate(e)) for e in then]
    one, batch = open_store(tmp_path / "one.db"), open_store(tmp_path / "batch.db")
    try:
        for store in (one, batch):
            resolver = ItemResolver(store.conn)
            for event in stored:
                resolver.resolve(item_ref(Event.model_validate(event)))
        by_one = [ItemResolver(one.conn).resolve(ref) for ref in refs]
        batch.conn.execute("BEGIN IMMEDIATE")
        by_batch = ItemResolver(batch.conn).resolve_batch(refs)
        batch.conn.execute("COMMIT")
        count = "SELECT count(*) FROM items"
        items = (one.conn.execute(count).fetchone()[0], batch.conn.execute(count).fetchone()[0])
    finally:
        one.close()
        batch.close()
    assert by_batch == by_one
    assert by_one[:4] == [(1, True), (1, True), (2, True), (3, True)]
    assert items == (4, 4)


def test_ingest_does_not_hold_the_write_lock_while_waiting_for_input(store: Any) -> None:
    from scrobctl.store.db import connect

    other = connect(store.path)
    other.execute("PRAGMA busy_timeout = 0")
    took_lock: list[bool] = []

    def trickle() -> Any:
        yield from lines_of(*(track(f"Song {i}", watched_at=T + i * 300) for i in range(1000)))
        other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the lock is held
        other.execute("ROLLBACK")
        took_lock.append(True)
        yield from lines_of(track("Last song"))

    summary = Ingest(store, LB, now=NOW).run(trickle())
    other.close()
    assert took_lock == [True]
    assert summary.queued == 1001


def plays_seen_by_another_connection(store: Any) -> int:
    from scrobctl.store.db import connect

    other = connect(store.path)
    try:
        return other.execute("SELECT count(*) FROM plays").fetchone()[0]
    finally:
        other.close()


def test_ingest_commits_what_came_before_a_pause_before_reading_on(store: Any) -> None:
    """A pipe that trickles (`tail -f ... | scrobctl scrobble`) says where no more input is
    waiting; what was read by then is committed, not held until the chunk fills up."""
    from scrobctl.scrobble.events import PAUSE

    seen: list[int] = []

    def trickle() -> Any:
        yield from lines_of(track("Hurt"), track("Solitary Man"))
        yield PAUSE
        seen.append(plays_seen_by_another_connection(store))  # the next read would wait here
        yield from lines_of(track("Rusty Cage"))

    summary = Ingest(store, LB, now=NOW, commit_every=10_000).run(trickle())

    assert seen == [2]
    assert summary.queued == 3


def test_ingest_killed_after_a_pause_keeps_the_plays_committed_at_it(store: Any) -> None:
    """An interrupted ingest keeps each play committed at a pause, and no part of the chunk
    being read when it stopped; piping the same lines again queues only what was lost."""
    from scrobctl.scrobble.events import PAUSE

    first, lost = [track("Hurt"), track("Solitary Man")], [track("Rusty Cage"), track("One")]

    def interrupted() -> Any:
        yield from lines_of(*first)
        yield PAUSE
        yield from lines_of(*lost)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Ingest(store, LB, now=NOW, commit_every=10_000).run(interrupted())
    assert (count(store, "plays"), count(store, "jobs")) == (2, 2)

    again = ingest(store, *first, *lost)
    assert (again.queued, again.duplicate) == (2, 2)
    assert (count(store, "plays"), count(store, "jobs")) == (4, 4)


def test_each_queued_job_carries_its_plays_time(store: Any) -> None:
    """A batch's jobs are written with the time of the play they name (the claims take the
    oldest plays by it), without reading the play back."""
    ingest(store, *(track(f"Song {i}", watched_at=T - i * 600) for i in range(5)))

    rows = store.conn.execute(
        "SELECT jobs.played_at, plays.watched_at FROM jobs JOIN plays ON plays.id = jobs.play_id"
    ).fetchall()
    assert len(rows) == 5
    assert all(played_at == watched_at for played_at, watched_at in rows)


def test_a_chunk_of_new_tracks_takes_the_same_statements_however_many_lines_it_has(
    tmp_path: Any,
) -> None:
    """Items, plays and jobs are written a chunk at a time (one executemany each) and the
    chunk's items are found by one probe: no statement runs once per line."""
    import sqlite3

    from scrobctl.store import db

    def statements(n: int) -> int:
        calls = [0]

        class Counting(sqlite3.Connection):
            def execute(self, *args: Any) -> Any:
                calls[0] += 1
                return super().execute(*args)

            def executemany(self, *args: Any) -> Any:
                calls[0] += 1
                return super().executemany(*args)

        def connect(path: Any) -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level=None, factory=Counting)
            conn.row_factory = sqlite3.Row
            return conn

        store = db.open_store(tmp_path / f"{n}.db")
        store.conn.close()
        store.conn = connect(store.path)
        events = [track(f"Song {i}", artist=f"Artist {i % 7}", watched_at=T + i) for i in range(n)]
        before = calls[0]
        summary = Ingest(store, LB, now=NOW).run(lines_of(*events))
        store.close()
        assert summary.queued == n
        return calls[0] - before

    assert statements(10) == statements(900)


def test_ingest_play_another_process_recorded_between_commits_is_a_duplicate(store: Any) -> None:
    from scrobctl.store import open_store

    first = [track("Hurt")] + [track(f"Song {i}", watched_at=T + i * 300) for i in range(999)]

    def with_another_writer() -> Any:
        yield from lines_of(*first)
        other = open_store(store.path)  # another `scrobble`, between our two transactions
        Ingest(other, LB, now=NOW).run(lines_of(track("Hurt", watched_at=T + 3600)))
        other.close()
        yield from lines_of(track("Hurt", watched_at=T + 3600))

    summary = Ingest(store, LB, now=NOW).run(with_another_writer())
    assert (summary.queued, summary.duplicate) == (1000, 1)
    assert count(store, "plays") == 1001


def test_ingest_new_play_of_a_known_item_repeated_in_one_input_is_queued_once(
    store: Any,
) -> None:
    ingest(store, track())
    again = track(watched_at=T + 86_400)
    summary = ingest(store, again, again | {"watched_ms": 160_000}, again)
    assert (summary.queued, summary.duplicate) == (1, 2)
    assert count(store, "plays") == 2
    assert count(store, "jobs") == 2


def test_items_of_a_failed_batch_are_not_remembered(store: Any) -> None:
    resolver = ItemResolver(store.conn)
    song = item_ref(Event.model_validate(track()))
    broken = item_ref(Event.model_validate(movie({"tmdb": 603})))
    broken.ids["tmdb"] = [603]  # a value SQLite cannot bind: the batch fails half-way
    store.conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(Exception, match="type"):
        resolver.resolve_batch([song, broken])
    store.conn.execute("ROLLBACK")

    assert resolver.resolve(song) == (1, True)
    assert count(store, "items") == 1


def test_ingest_finds_a_duplicate_after_forgetting_its_plays_in_memory(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past FRESH_PLAYS the plays held in memory are dropped; a repeat of a play made before
    that is still found (in the database), not written again."""
    from scrobctl.scrobble import enqueue
    from scrobctl.scrobble.events import Event, Line

    monkeypatch.setattr(enqueue, "FRESH_PLAYS", 3)
    monkeypatch.setattr(enqueue, "COMMIT_EVERY", 2)  # the bound is checked between chunks
    base = 1_700_000_000

    def play(i: int, at: int) -> Line:
        event = Event(
            type="track",
            title="Same",
            artist="A",
            duration_ms=200_000,
            watched_ms=200_000,
            watched_at=at,
        )
        return Line(i, event)

    lines = [play(i, base + i * 1000) for i in range(5)] + [play(9, base + 30)]
    summary = enqueue.Ingest(store, {}).run(lines)

    assert (summary.recorded_only, summary.duplicate) == (5, 1)
    assert store.conn.execute("SELECT count(*) FROM plays").fetchone()[0] == 5


def test_ingest_show_and_season_ratings_are_ratings_of_their_items_not_plays(store: Any) -> None:
    events = [
        {"type": "show", "ids": {"tvdb": 121361}, "rating": 9, "watched_at": 1_700_000_000},
        {"type": "season", "show": {"ids": {"tvdb": 121361}}, "season": 1, "rating": 7},
    ]
    summary = ingest(store, *events)

    assert (summary.rated, summary.rating_only, summary.queued, summary.recorded_only) == (
        2,
        2,
        0,
        0,
    )
    assert count(store, "plays") == 0
    rows = store.conn.execute(
        "SELECT i.id, i.kind, i.season, i.show_id, r.rating FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY i.id"
    ).fetchall()
    [show, season] = [tuple(r) for r in rows]
    assert show[1:] == ("show", None, None, 9.0)
    assert season[1:] == ("season", 1, show[0], 7.0)
