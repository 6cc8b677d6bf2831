"""`stats`: top lists, time spent, weeks and what each target has, from running totals that
follow new plays and unscrobbles exactly as a count of the whole archive would."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from scrobctl.cli import app
from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event
from scrobctl.scrobble.unscrobble import unscrobble
from scrobctl.store import queue
from scrobctl.store.stats import archive_stats
from tests.helpers import episode, json_data, movie, queue_plays, vm_steps

AT = 1_794_903_600  # Tuesday 2026-11-17 08:20 UTC
HOUR = 3_600
MEDIA = {"trakt": frozenset({"movie", "episode"}), "listenbrainz": frozenset({"track"})}


def song(title: str, artist: str, at: int, album: str = "Album") -> Event:
    return Event.model_validate(
        {
            "type": "track",
            "title": title,
            "artist": artist,
            "album": album,
            "duration_ms": 200_000,
            "watched_ms": 180_000,
            "watched_at": at,
        }
    )


def fill(runtime: Runtime) -> None:
    songs = [song("Hurt", "Johnny Cash", AT - i * HOUR) for i in range(3)]
    songs += [song("Closer", "Nine Inch Nails", AT - 10 * HOUR, "The Downward Spiral")]
    queue_plays(runtime, "listenbrainz", songs)
    video = [movie(AT - 20 * HOUR, tmdb=603), episode(AT - 30 * HOUR, 371_980, 1, 2, tvdb=9)]
    queue_plays(runtime, "trakt", video)
    store = runtime.store()
    done = [r[0] for r in store.conn.execute("SELECT id FROM jobs WHERE service = 'trakt'")]
    queue.complete(store, done, runtime.clock.now())


def stats_of(runtime: Runtime, **kw: Any) -> Any:
    args = {"since": None, "kind": None, "week_from": AT - 4 * 7 * 86_400, "utc_offset": 0}
    return archive_stats(runtime.store().conn, target_media=MEDIA, **{**args, **kw})


def test_stats_counts_plays_top_lists_time_and_what_each_target_has(no_logins: Runtime) -> None:
    fill(no_logins)

    s = stats_of(no_logins)

    assert s.by_kind == {"track": 4, "movie": 1, "episode": 1}
    assert [(a.name, a.plays) for a in s.artists] == [("Johnny Cash", 3), ("Nine Inch Nails", 1)]
    assert s.tracks[0].name == "Johnny Cash - Hurt"
    assert [(m.name, m.plays) for m in s.movies] == [("?", 1)]
    assert s.listening_ms == 4 * 180_000
    assert s.watching_ms == int(8_160_000 * 0.95) + int(3_300_000 * 0.95)
    targets = {t.service: (t.plays, t.of) for t in s.targets}
    assert targets == {"trakt": (2, 2), "listenbrainz": (0, 4)}


def test_stats_running_totals_match_a_full_count_after_new_plays_and_an_unscrobble(
    no_logins: Runtime,
) -> None:
    fill(no_logins)
    stats_of(no_logins)  # the totals now count everything so far
    queue_plays(no_logins, "listenbrainz", [song("Hurt", "Johnny Cash", AT + HOUR)])
    store = no_logins.store()
    movie_play = store.conn.execute(
        "SELECT plays.id FROM plays JOIN items ON items.id = plays.item_id"
        " WHERE items.kind = 'movie'"
    ).fetchone()[0]
    unscrobble(no_logins, [movie_play], None, dry_run=False)

    kept = asdict(stats_of(no_logins))
    counted = asdict(stats_of(no_logins, since=0))  # a range: counted from the plays themselves

    assert kept == counted
    assert kept["by_kind"] == {"track": 5, "episode": 1}
    assert {t["service"]: t["plays"] for t in kept["targets"]}["trakt"] == 1


def test_stats_since_counts_only_plays_from_then_on(no_logins: Runtime) -> None:
    fill(no_logins)

    s = stats_of(no_logins, since=AT - 5 * HOUR)

    assert s.by_kind == {"track": 3}


def test_stats_weeks_start_on_monday_and_cover_the_empty_ones(no_logins: Runtime) -> None:
    fill(no_logins)

    s = stats_of(no_logins, week_from=AT - 14 * 86_400)

    starts = [datetime.fromtimestamp(w.start, UTC) for w in s.weeks]
    assert all(d.weekday() == 0 and d.hour == 0 for d in starts)
    assert [w.plays for w in s.weeks] == [0, 0, 6]  # Mon 2, Mon 9 empty; all in the 16th


def test_stats_without_a_terminal_prints_no_chart(no_logins: Runtime) -> None:
    fill(no_logins)
    no_logins.close()

    result = CliRunner().invoke(app, ["stats", "--since", "2026-11-01"])

    assert result.exit_code == 0, result.output
    assert "plays per week" in result.stdout
    assert "█" not in result.stdout
    data = json_data(CliRunner().invoke(app, ["stats", "--json"]).stdout)
    assert data["plays"] == 6


def test_stats_names_a_group_by_its_first_recorded_spelling_in_totals_and_ranges(
    no_logins: Runtime,
) -> None:
    songs = [song("Hurt", "Johnny Cash", AT), song("Ring of Fire", "JOHNNY CASH", AT - HOUR)]
    queue_plays(no_logins, "listenbrainz", songs)

    kept, counted = stats_of(no_logins), stats_of(no_logins, since=0)

    assert [(a.name, a.plays) for a in kept.artists] == [("Johnny Cash", 2)]
    assert asdict(kept) == asdict(counted)


def _steps_after(runtime: Runtime, count: int, start: int, query: dict[str, Any]) -> int:
    """Add `count` plays of new tracks (each its own artist and album), let stats count them
    once, then the steps of the next stats (nothing new to count, an empty chart)."""
    songs = [
        song(f"Song {i}", f"Artist {i}", AT - (start + i) * 60, f"Album {i}")
        for i in range(start, start + count)
    ]
    queue_plays(runtime, "listenbrainz", songs)
    assert stats_of(runtime).plays == start + count
    steps, _ = vm_steps(runtime.store().conn, lambda: stats_of(runtime, **query))
    return steps


@pytest.mark.parametrize(
    "query",
    [{"week_from": AT + 1}, {"since": AT + 1}, {"since": AT + 1, "kind": "track"}],
    ids=["all", "since", "since-type"],
)
def test_stats_work_does_not_grow_with_the_library(
    no_logins: Runtime, query: dict[str, Any]
) -> None:
    """issue #25: the top lists and per-type totals are read from running totals in rank
    order, not grouped from every item, and a range's targets seek each target's records
    from its start, so 5,000 tracks cost what 1,000 do."""
    small = _steps_after(no_logins, 1_000, 0, query)
    large = _steps_after(no_logins, 4_000, 1_000, query)
    assert large <= small * 1.2 + 5
