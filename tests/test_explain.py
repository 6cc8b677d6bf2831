"""`explain`: the rule that identifies an item, the items a play could have been, and the
targets' jobs, read from the archive without writing to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrobctl.errors import UsageError
from scrobctl.runtime import Runtime
from scrobctl.scrobble.explain import explain
from scrobctl.store import queue
from scrobctl.store.imports import ImportedPlay, ImportWriter
from scrobctl.store.items import ItemRef
from tests.helpers import movie, queue_plays, vm_steps

AT = 1_794_903_600


def imported(runtime: Runtime, service: str, *plays: ImportedPlay) -> None:
    store = runtime.store()
    with store.transaction():
        writer = ImportWriter(store, "default", service)
        for play in plays:
            writer.play(play)


def track(title: str, album: str | None = None, **ids: str) -> ItemRef:
    return ItemRef("track", ids, title=title, artist="Johnny Cash", album=album)


def play_id(runtime: Runtime, at: int) -> str:
    row = runtime.store().conn.execute("SELECT id FROM plays WHERE watched_at = ?", (at,))
    return str(row.fetchone()[0])


def test_explain_play_of_a_movie_names_its_exact_id_and_each_targets_job(
    no_logins: Runtime,
) -> None:
    queue_plays(no_logins, "trakt", [movie(AT, tmdb=603, imdb="tt0133093")])
    job = no_logins.store().conn.execute("SELECT id FROM jobs").fetchone()[0]
    queue.reject(no_logins.store(), [(job, "not found on Trakt")], no_logins.clock.now())

    [e] = explain(no_logins, play_id(no_logins, AT))

    assert (e.match.rule, e.match.detail) == ("exact id", "TMDb id 603")
    [target] = e.targets
    assert (target.service, target.job, target.state) == ("trakt", "scrobble", "rejected")
    assert target.reason == "not found on Trakt" and not target.has_it


def test_explain_weak_track_lists_the_same_artist_and_title_on_other_albums(
    no_logins: Runtime,
) -> None:
    imported(
        no_logins,
        "lastfm",
        ImportedPlay(track("Hurt", "American IV"), AT),
        ImportedPlay(track("Hurt", "Live"), AT + 600),
        ImportedPlay(track("Hurt"), AT + 1200),  # no album: the first of them
        ImportedPlay(track("Personal Jesus", "American IV"), AT + 1800),
    )

    [e] = explain(no_logins, play_id(no_logins, AT + 1200))

    assert e.match.rule == "weak"
    assert e.item is not None and e.item.label == "Johnny Cash - Hurt (American IV)"
    assert [c.label for c in e.candidates] == ["Johnny Cash - Hurt (Live)"]
    [target] = e.targets
    assert (target.service, target.job, target.has_it) == ("lastfm", None, True)


def test_explain_names_the_tmdb_look_up_that_gave_the_item_its_tmdb_id(no_logins: Runtime) -> None:
    ref = ItemRef("movie", {"imdb": "tt0133093", "tmdb": 603}, title="The Matrix")
    ref.tmdb_from = "imdb:tt0133093"
    imported(no_logins, "trakt", ImportedPlay(ref, AT))

    [e] = explain(no_logins, "tmdb:603")

    assert e.match.rule == "TMDb look-up"
    assert "imdb:tt0133093" in e.match.detail
    assert [p.watched_at for p in e.plays] == [AT]


def test_explain_of_an_event_on_stdin_matches_as_scrobble_would_and_writes_nothing(
    no_logins: Runtime,
) -> None:
    imported(no_logins, "lastfm", ImportedPlay(track("Hurt", "American IV"), AT))
    events = (
        '{"type": "track", "title": "HURT", "artist": "johnny cash"}\n'
        '{"type": "movie", "title": "The Matrix", "ids": {"tmdb": 603}}\n'
    )

    found, new = explain(no_logins, "-", events)

    assert found.match.rule == "weak" and found.item is not None
    assert (new.item, new.match.rule) == (None, "new item")
    assert no_logins.store().conn.execute("SELECT count(*) FROM items").fetchone()[0] == 1


def test_explain_of_a_play_not_in_the_archive_is_a_usage_error(no_logins: Runtime) -> None:
    with pytest.raises(UsageError, match="no play 42"):
        explain(no_logins, "42")


def test_explain_play_work_does_not_grow_with_the_archive(data_dir: Path) -> None:
    """issue #25: a play's look-alikes, play counts and jobs are found by index; counting an
    item's plays or a play's jobs by scanning read every row of a million-play archive."""
    from scrobctl.store import open_store
    from scrobctl.store.explain import explain_play

    store = open_store(data_dir / "scrobctl.db")

    def grow_to(plays: int) -> None:
        with store.transaction() as conn:
            have = conn.execute("SELECT count(*) FROM plays").fetchone()[0]
            for i in range(have, plays):
                item = conn.execute(
                    "INSERT INTO items (kind, title, artist, weak_key) VALUES ('track', ?, 'A', ?)",
                    (f"t{i}", f"a\x1ft{i}\x1f"),
                ).lastrowid
                play = conn.execute(
                    "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, ?)",
                    (item, 1_000_000 + i),
                ).lastrowid
                conn.execute(
                    "INSERT INTO jobs (kind, service, profile, play_id, state, unique_key)"
                    " VALUES ('scrobble', 'listenbrainz', 'default', ?, 'completed', ?)",
                    (play, f"scrobble:listenbrainz:{play}"),
                )

    def steps() -> int:
        count, found = vm_steps(store.conn, lambda: explain_play(store.conn, 1))
        assert found is not None and [t.state for t in found.targets] == ["completed"]
        return count

    grow_to(200)
    small = steps()
    grow_to(4000)
    assert steps() <= small * 1.5 + 5
    store.close()
