"""The local archive (store/history.py `list_plays`) and `scrobctl history` on top of it: newest
first, filters by type, service, time and profile, a limit, and the services known to have each
play (from the `scrobbles` table, filled by imports and by sent jobs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from scrobctl.cli import app
from scrobctl.store.history import HistoryRow, list_plays
from scrobctl.store.imports import ImportedPlay, ImportWriter
from scrobctl.store.items import ItemRef
from tests.helpers import json_data, vm_steps

T = 1_794_990_000  # a little before the FakeClock's start

MATRIX = ItemRef("movie", {"tmdb": 603, "imdb": "tt0133093"}, title="The Matrix", year=1999)
GOT = ItemRef("show", {"tmdb": 1399}, title="Game of Thrones", year=2011)
GOT_S01E02 = ItemRef(
    "episode", {"tmdb": 63_102}, title="The Kingsroad", show=GOT, season=1, number=2
)
HURT = ItemRef("track", {}, title="Hurt", artist="Johnny Cash", album="American IV")
HURT_NIN = ItemRef("track", {}, title="Hurt", artist="Nine Inch Nails", album="The Downward Spiral")


def record(store: Any, profile: str, service: str, ref: ItemRef, at: int) -> None:
    with store.transaction():
        ImportWriter(store, profile, service).play(ImportedPlay(ref, at))


@pytest.fixture
def archive(store: Any) -> Any:
    """Four plays: a movie both Trakt and Simkl have, an episode, and two tracks, one of them in
    another profile."""
    record(store, "default", "trakt", MATRIX, T - 4000)
    record(store, "default", "simkl", MATRIX, T - 4000)
    record(store, "default", "trakt", GOT_S01E02, T - 3000)
    record(store, "default", "lastfm", HURT, T - 2000)
    record(store, "alice", "listenbrainz", HURT_NIN, T - 1000)
    return store


def titles(rows: Iterator[HistoryRow]) -> list[str | None]:
    return [r.title for r in rows]


# -- list_plays -----------------------------------------------------------------------------------


def test_list_plays_returns_plays_newest_first(archive: Any) -> None:
    rows = list(list_plays(archive))

    assert [r.watched_at for r in rows] == [T - 1000, T - 2000, T - 3000, T - 4000]
    assert [r.kind for r in rows] == ["track", "track", "episode", "movie"]


def test_list_plays_filters_by_type(archive: Any) -> None:
    assert titles(list_plays(archive, kind="movie")) == ["The Matrix"]


def test_list_plays_filters_by_service(archive: Any) -> None:
    assert titles(list_plays(archive, service="trakt")) == ["The Kingsroad", "The Matrix"]
    assert titles(list_plays(archive, service="simkl")) == ["The Matrix"]


def test_list_plays_filters_since_a_time_inclusive(archive: Any) -> None:
    rows = list(list_plays(archive, since=T - 3000))

    assert [r.watched_at for r in rows] == [T - 1000, T - 2000, T - 3000]


def test_list_plays_filters_by_exact_source(archive: Any) -> None:
    assert titles(list_plays(archive, source="import:lastfm")) == ["Hurt"]


def test_list_plays_filters_by_kind_of_source(archive: Any) -> None:
    assert len(list(list_plays(archive, source="import"))) == 4
    assert list(list_plays(archive, source="file")) == []
    assert list(list_plays(archive, source="impor_")) == []  # LIKE wildcards are literal


def test_list_plays_filters_by_profile(archive: Any) -> None:
    assert [r.artist for r in list_plays(archive, profile="alice")] == ["Nine Inch Nails"]
    assert len(list(list_plays(archive, profile="default"))) == 3


def test_list_plays_limit_keeps_the_newest(archive: Any) -> None:
    rows = list(list_plays(archive, limit=2))

    assert [r.watched_at for r in rows] == [T - 1000, T - 2000]


def test_list_plays_without_a_limit_returns_every_play(store: Any) -> None:
    for i in range(60):
        record(store, "default", "lastfm", HURT, T - i * 600)

    assert len(list(list_plays(store, limit=None))) == 60
    assert len(list(list_plays(store))) == 50  # the default


def test_list_plays_lists_every_service_known_to_have_the_play(archive: Any) -> None:
    (matrix,) = list_plays(archive, kind="movie")

    assert matrix.services == ["simkl", "trakt"]
    assert matrix.ids == {"tmdb": 603, "imdb": "tt0133093"}


def test_list_plays_episode_names_its_show_season_and_number(archive: Any) -> None:
    (episode,) = list_plays(archive, kind="episode")

    assert (episode.show, episode.season, episode.number) == ("Game of Thrones", 1, 2)


def test_list_plays_combines_filters(archive: Any) -> None:
    rows = list(list_plays(archive, kind="track", profile="default", since=T - 2500))

    assert [(r.artist, r.services) for r in rows] == [("Johnny Cash", ["lastfm"])]


def test_list_plays_names_a_service_whose_import_matched_the_play_within_its_window(
    store: Any,
) -> None:
    record(store, "default", "lastfm", HURT, T)
    listened = ItemRef(
        "track", {}, title="Hurt", artist="Johnny Cash", album="American IV", duration_ms=218_000
    )
    record(store, "default", "listenbrainz", listened, T + 2)  # the same listen, 2 s apart

    (play,) = list_plays(store)

    assert play.services == ["lastfm", "listenbrainz"]


def test_list_plays_service_filter_finds_a_play_matched_within_its_window(store: Any) -> None:
    record(store, "default", "lastfm", HURT, T)
    listened = ItemRef(
        "track", {}, title="Hurt", artist="Johnny Cash", album="American IV", duration_ms=218_000
    )
    record(store, "default", "listenbrainz", listened, T + 2)

    assert [r.watched_at for r in list_plays(store, service="listenbrainz")] == [T]


# -- scrobctl history ---------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_history_json_lists_plays_with_their_services(archive: Any, runner: CliRunner) -> None:
    result = runner.invoke(app, ["history", "--json"])

    assert result.exit_code == 0, result.output
    data = json_data(result.stdout)
    assert list(data) == ["plays"]
    assert [(p["watched_at"], p["kind"], p["services"]) for p in data["plays"]] == [
        (T - 1000, "track", ["listenbrainz"]),
        (T - 2000, "track", ["lastfm"]),
        (T - 3000, "episode", ["trakt"]),
        (T - 4000, "movie", ["simkl", "trakt"]),
    ]


def test_history_json_play_carries_what_was_played(archive: Any, runner: CliRunner) -> None:
    result = runner.invoke(app, ["history", "--json", "--type", "episode"])

    (play,) = json_data(result.stdout)["plays"]
    assert isinstance(play.pop("id"), int)  # what explain and unscrobble take
    assert play == {
        "watched_at": T - 3000,
        "profile": "default",
        "kind": "episode",
        "title": "The Kingsroad",
        "artist": None,
        "album": None,
        "show": "Game of Thrones",
        "season": 1,
        "number": 2,
        "ids": {"tmdb": 63_102},
        "services": ["trakt"],
        "source": "import:trakt",
    }


def test_history_json_applies_service_profile_and_limit(archive: Any, runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["history", "--json", "--service", "trakt", "--profile", "default", "--limit", "1"]
    )

    plays = json_data(result.stdout)["plays"]
    assert [(p["title"], p["services"]) for p in plays] == [("The Kingsroad", ["trakt"])]


def test_history_json_with_no_plays_is_an_empty_list(store: Any, runner: CliRunner) -> None:
    result = runner.invoke(app, ["history", "--json"])

    assert result.exit_code == 0
    assert json_data(result.stdout) == {"plays": []}


def _steps_for_newest_plays(store: Any, plays: int) -> int:
    """SQLite virtual-machine steps (in hundreds) for `history --limit 10` after `plays` plays,
    each sent to one target: the work a query does, whatever the machine's load."""
    with store.transaction() as conn:
        have = conn.execute("SELECT count(*) FROM plays").fetchone()[0]
        for i in range(have, plays):
            item = conn.execute(
                "INSERT INTO items (kind, title, artist) VALUES ('track', ?, 'A')", (f"t{i}",)
            ).lastrowid
            conn.execute(
                "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, ?)",
                (item, T + i),
            )
            conn.execute(
                "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source)"
                " VALUES ('default', 'listenbrainz', ?, ?, 'sent')",
                (item, T + i),
            )
    steps, rows = vm_steps(store.conn, lambda: list(list_plays(store, limit=10)))
    assert all(r.services == ["listenbrainz"] for r in rows)
    return steps


def test_list_plays_work_does_not_grow_with_the_archive(store: Any) -> None:
    """issue #25: which targets have each play is found through an index, not by scanning the
    profile's records (an archive has no ANALYZE statistics to steer the planner)."""
    small = _steps_for_newest_plays(store, 200)
    large = _steps_for_newest_plays(store, 4000)
    assert large <= small * 1.5 + 5
