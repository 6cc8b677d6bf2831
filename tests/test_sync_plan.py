"""`sync`'s plan (issue 21), on an archive built by the real import and ingest paths: which
archived plays are queued for a target, and why each other one is not."""

from __future__ import annotations

from typing import Any

import pytest

from scrobctl import targets
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.store import connections
from scrobctl.store.imports import ImportedPlay, ImportWriter
from scrobctl.store.items import ItemRef
from scrobctl.sync.backfill import SyncResult, plan

PROFILE = "default"
DAY = 86_400


def imported(runtime: Runtime, service: str, plays: list[tuple[ItemRef, int]]) -> None:
    """Plays as `import SERVICE` records them: in the archive, and known to be on it."""
    store = runtime.store()
    writer = ImportWriter(store, PROFILE, service)
    with store.transaction():
        for ref, at in plays:
            writer.play(ImportedPlay(ref, at))


def ingested(runtime: Runtime, source: str, events: list[dict[str, Any]]) -> None:
    """Plays as an export file or `scrobble` records them: routed nowhere."""
    lines = [Line(i + 1, Event.model_validate(e)) for i, e in enumerate(events)]
    Ingest(runtime.store(), {}, now=runtime.clock.now(), source=source).run(lines)


def track(artist: str, title: str, album: str | None = None, **ids: Any) -> ItemRef:
    return ItemRef("track", ids, title=title, artist=artist, album=album, duration_ms=200_000)


def track_event(artist: str, title: str, at: int) -> dict[str, Any]:
    return {
        "type": "track",
        "artist": artist,
        "title": title,
        "duration_ms": 200_000,
        "watched_ms": 200_000,
        "watched_at": at,
    }


def movie_event(at: int, tmdb: int) -> dict[str, Any]:
    return {
        "type": "movie",
        "ids": {"tmdb": tmdb},
        "duration_ms": 7_200_000,
        "percentage": 100,
        "watched_at": at,
    }


def run_plan(
    runtime: Runtime,
    to: str,
    *,
    source_service: str | None = None,
    source: str | None = None,
    dry_run: bool = False,
) -> SyncResult:
    store = runtime.store()
    if connections.get_connection(store, PROFILE, to) is None:
        connections.save_login(store, PROFILE, to, "rob")
    target = targets.resolve(runtime, PROFILE, to)
    result = SyncResult(PROFILE, to, source_service or source, dry_run, None, None)
    plan(runtime, target, result, source_service, source)
    return result


def test_plays_of_a_type_the_target_does_not_take_are_skipped(no_logins: Runtime) -> None:
    now = int(no_logins.clock.now())
    ingested(no_logins, "stdin", [movie_event(now - DAY, 603), track_event("A", "S", now - DAY)])

    result = run_plan(no_logins, "listenbrainz", dry_run=True)

    assert result.queued == 1 and result.wrong_type == {"movie": 1}
    [skip] = [p for p in result.plays if p.action == "skip"]
    assert (skip.reason, skip.detail) == ("type", "listenbrainz takes no movies")


def test_lastfm_is_sent_no_play_older_than_14_days_and_told_how_many(no_logins: Runtime) -> None:
    now = int(no_logins.clock.now())
    old = [track_event("A", f"Old {i}", now - 15 * DAY + i * 600) for i in range(3)]
    ingested(no_logins, "import:listenbrainz", [*old, track_event("A", "New", now - DAY)])

    result = run_plan(no_logins, "lastfm", dry_run=True)

    assert result.queued == 1
    assert (result.too_old, result.too_old_days) == (3, 14)
    assert [p.item for p in result.plays] == ["A - New"]  # counted once, never listed


def test_two_archived_copies_of_one_listen_are_queued_once(no_logins: Runtime) -> None:
    at = int(no_logins.clock.now()) - 30 * DAY
    imported(no_logins, "lastfm", [(track("Artist feat. Guest", "Song"), at)])
    ingested(no_logins, "file:spotify", [track_event("Artist", "Song (feat. Guest)", at + 20)])

    result = run_plan(no_logins, "listenbrainz")

    assert result.queued == 1
    assert sum(result.already_there.values()) == 1


def test_a_listen_already_there_by_title_is_weak_and_reported(no_logins: Runtime) -> None:
    at = int(no_logins.clock.now()) - 30 * DAY
    imported(no_logins, "lastfm", [(track("Artist feat. Guest", "Song", "LP"), at)])
    imported(
        no_logins, "listenbrainz", [(track("ARTIST", "song (feat. guest)", "LP (Deluxe)"), at)]
    )

    result = run_plan(no_logins, "listenbrainz", source_service="lastfm")

    assert result.queued == 0 and result.already_there == {"id": 0, "title": 1}
    assert result.weak_report is not None
    assert '"match": "title"' in result.weak_report.read_text()


def test_a_listen_with_the_same_mbid_is_there_by_id(no_logins: Runtime) -> None:
    at = int(no_logins.clock.now()) - 30 * DAY
    mbid = "6b9a509f-6907-4a6e-9345-2f12da09ba4b"
    imported(no_logins, "lastfm", [(track("Artist", "Song", mbid=mbid), at)])
    imported(no_logins, "listenbrainz", [(track("Other Name", "Other Title", mbid=mbid), at + 1)])

    result = run_plan(no_logins, "listenbrainz", source_service="lastfm")

    assert result.queued == 0 and result.already_there == {"id": 1, "title": 0}
    assert result.weak_report is None


def test_sync_again_queues_nothing_and_says_they_were_queued(no_logins: Runtime) -> None:
    at = int(no_logins.clock.now()) - 30 * DAY
    imported(no_logins, "lastfm", [(track("A", f"S{i}"), at + i * 300) for i in range(5)])

    first = run_plan(no_logins, "listenbrainz", source_service="lastfm")
    second = run_plan(no_logins, "listenbrainz", source_service="lastfm")

    assert first.queued == 5
    assert second.queued == 0 and second.queued_before == {"available": 5}


def test_a_refused_play_is_not_queued_again(no_logins: Runtime) -> None:
    at = int(no_logins.clock.now()) - 30 * DAY
    imported(no_logins, "lastfm", [(track("A", "S"), at)])
    run_plan(no_logins, "listenbrainz", source_service="lastfm")
    with no_logins.store().transaction() as conn:
        conn.execute("UPDATE jobs SET state = 'rejected'")

    again = run_plan(no_logins, "listenbrainz", source_service="lastfm", dry_run=True)

    assert again.queued == 0 and again.queued_before == {"rejected": 1}


def test_source_file_takes_only_plays_from_export_files(no_logins: Runtime) -> None:
    at = int(no_logins.clock.now()) - 30 * DAY
    ingested(no_logins, "file:letterboxd", [movie_event(at, 603)])
    ingested(no_logins, "stdin", [movie_event(at + DAY, 604)])

    every_file = run_plan(no_logins, "trakt", source="file", dry_run=True)
    letterboxd = run_plan(no_logins, "trakt", source="file:letterboxd", dry_run=True)
    spotify = run_plan(no_logins, "trakt", source="file:spotify", dry_run=True)

    assert (every_file.queued, letterboxd.queued, spotify.queued) == (1, 1, 0)


def test_a_letterboxd_day_is_the_trakt_watch_that_evening(no_logins: Runtime) -> None:
    noon = int(no_logins.clock.now()) // DAY * DAY - 30 * DAY + 12 * 3600
    ingested(no_logins, "file:letterboxd", [movie_event(noon, 603)])
    imported(
        no_logins,
        "trakt",
        [(ItemRef("movie", {"tmdb": 603, "imdb": "tt0133093"}), noon + 8 * 3600)],
    )

    result = run_plan(no_logins, "trakt", source="file:letterboxd")

    assert result.queued == 0 and result.already_there == {"id": 1, "title": 0}


def test_a_full_sync_ends_status_counting_the_target_lacking(no_logins: Runtime) -> None:
    run_plan(no_logins, "listenbrainz")

    connection = connections.get_connection(no_logins.store(), PROFILE, "listenbrainz")

    assert connection is not None and connection.settings.get(connections.ARCHIVED_DONE)


def test_from_an_export_format_points_at_source_file(no_logins: Runtime) -> None:
    import asyncio

    from scrobctl.errors import UsageError
    from scrobctl.sync.backfill import sync

    connections.save_login(no_logins.store(), PROFILE, "trakt", "rob")

    with pytest.raises(UsageError) as raised:
        asyncio.run(sync(no_logins, "trakt", source_service="letterboxd"))

    assert "--source file:letterboxd" in raised.value.hint
