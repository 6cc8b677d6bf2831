"""The import driver (sync/importer.py) across services: resuming an interrupted import from its
checkpoint, incremental runs from the high-water mark, --full, the failed-entries report, and
matching imported plays against each other and against plays piped on stdin.

The per-service fakes and logins come from tests/histories/<service>.py; respx stands in for
every service.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import respx

from scrobctl.errors import LockHeld, ServiceUnavailable
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import read_events
from scrobctl.services.trakt import iso as trakt_iso
from scrobctl.status import build_status
from scrobctl.store.checkpoints import HISTORY, load_checkpoint
from scrobctl.sync.importer import OVERLAP, ImportResult, lock_path
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import logged_in
from tests.histories import lastfm, simkl, trakt
from tests.histories import listenbrainz as lb

PROFILE = "default"
NOW = 1_795_000_000  # FakeClock's start
# Columns that record when something was written, not what: left out of row comparisons.
WHEN_WRITTEN = {"created_at", "recorded_at", "started_at", "finished_at"}


def run(runtime: Runtime, service: str, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, service, PROFILE, **options))


def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """plays, items, scrobbles and ratings: every row, without the when-written columns."""
    conn = runtime.store().conn
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in ("items", "plays", "scrobbles", "ratings"):
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        kept = ", ".join(c for c in columns if c not in WHEN_WRITTEN)
        tables[table] = [tuple(r) for r in conn.execute(f"SELECT {kept} FROM {table} ORDER BY id")]
    return tables


def count(runtime: Runtime, table: str) -> int:
    return runtime.store().conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- one history of five pages per service ------------------------------------------------------


@dataclass
class Backend:
    """One service's fake with five pages of history (and some ratings), and how to drive it."""

    service: str
    fake: Any
    make_runtime: Callable[[Path, FakeClock], Runtime]
    requests: Callable[[], list[Any]]  # what identifies each history request: page or max_ts
    fail_third: Callable[[], None]  # the third history request fails with a 503
    heal: Callable[[], None]
    new_plays: Callable[[int], list[Any]]  # two plays newer than `after`, in the fake's shape
    since_sent: Callable[[], list[int | None]]


def trakt_backend() -> Backend:
    entries = trakt.movies(5 * trakt.PAGE)
    fake = trakt.FakeTrakt(
        entries,
        ratings={
            "movies": [trakt.rating(entries[0], 9, NOW - 60)],
            "episodes": [],
        },
    )

    def fail() -> None:
        fake.fail_pages.add(3)

    return Backend(
        "trakt",
        fake,
        lambda data_dir, clock: logged_in(data_dir, clock, "trakt"),
        lambda: fake.pages,
        fail,
        fake.fail_pages.clear,
        lambda after: [trakt.movie(90_001, after + 600), trakt.movie(90_002, after + 1200)],
        fake.since_sent,
    )


def lastfm_backend() -> Backend:
    items = lastfm.scrobbles(5 * lastfm.PAGE)
    fake = lastfm.FakeLastfm(items, loved=[items[10]])

    def fail() -> None:
        fake.fail_pages.add(3)

    return Backend(
        "lastfm",
        fake,
        lambda data_dir, clock: logged_in(data_dir, clock, "lastfm"),
        lambda: fake.pages,
        fail,
        fake.fail_pages.clear,
        lambda after: [
            lastfm.Scrobble(after + 600, "New 1"),
            lastfm.Scrobble(after + 1200, "New 2"),
        ],
        fake.since_sent,
    )


def listenbrainz_backend() -> Backend:
    items = lb.listens(4 * lb.PAGE + 500)  # 1000 + 4 x 999 fresh (one overlap each): 5 pages
    fake = lb.FakeListenBrainz(
        items, loves=[lb.feedback(3, 1, NOW - 60), lb.feedback(4, -1, NOW - 50)]
    )

    def fail() -> None:
        fake.fail_requests = {3}

    def heal() -> None:
        fake.fail_requests = set()

    return Backend(
        "listenbrainz",
        fake,
        lambda data_dir, clock: logged_in(data_dir, clock, "listenbrainz"),
        lambda: fake.max_ts_sent,
        fail,
        heal,
        lambda after: [lb.listen(after + 600, 901), lb.listen(after + 1200, 902)],
        # min_ts is exclusive: the reader sends since - 1, so a listen at `since` comes too.
        lambda: [None if m is None else m + 1 for m in fake.since_sent()],
    )


BACKENDS = {"trakt": trakt_backend, "lastfm": lastfm_backend, "listenbrainz": listenbrainz_backend}


@pytest.fixture(params=["trakt", "lastfm", "listenbrainz"])
def resumable(request: pytest.FixtureRequest, api: respx.MockRouter) -> Backend:
    backend = BACKENDS[request.param]()
    backend.fake.install(api)
    return backend


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, api: respx.MockRouter) -> Backend:
    made = BACKENDS[request.param]()
    made.fake.install(api)
    return made


@pytest.fixture
def backend_runtime(isolated_env: Path, clock: FakeClock) -> Iterator[Callable[..., Runtime]]:
    runtimes: list[Runtime] = []

    def build(backend: Backend, data_dir: Path = isolated_env) -> Runtime:
        runtime = backend.make_runtime(data_dir, clock)
        runtimes.append(runtime)
        return runtime

    yield build
    for runtime in runtimes:
        runtime.close()


def interrupt(backend: Backend, runtime: Runtime) -> int:
    """Run an import that fails on its third history page; returns how many requests it made."""
    backend.fail_third()
    with pytest.raises(ServiceUnavailable):
        run(runtime, backend.service)
    backend.heal()
    return len(backend.requests())


# -- resume ---------------------------------------------------------------------------------------


def test_importer_failed_run_is_interrupted_with_why_and_the_checkpoint_after_page_2(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)

    interrupt(backend, runtime)

    checkpoint = load_checkpoint(runtime.store(), PROFILE, "trakt", HISTORY)
    assert checkpoint is not None
    assert (checkpoint.state, checkpoint.cursor["page"]) == ("interrupted", 2)
    assert checkpoint.detail is not None and checkpoint.detail.startswith("stopped: trakt: ")
    assert count(runtime, "plays") == 2 * trakt.PAGE


def test_importer_ctrl_c_leaves_the_import_interrupted_not_running(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)

    def ctrl_c_after_page_2(progress: Any) -> None:
        if progress.pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(runtime, "trakt", on_page=ctrl_c_after_page_2)

    checkpoint = load_checkpoint(runtime.store(), PROFILE, "trakt", HISTORY)
    assert checkpoint is not None
    assert (checkpoint.state, checkpoint.cursor["page"]) == ("interrupted", 2)
    assert checkpoint.detail == "interrupted (Ctrl-C or SIGTERM)"
    assert build_status(runtime).imports[0].state == "interrupted"
    result = run(runtime, "trakt")
    assert result.resumed and backend.requests()[2:3] == [3]
    assert load_checkpoint(runtime.store(), PROFILE, "trakt", HISTORY).state == "done"


def test_importer_row_left_running_by_a_killed_process_shows_interrupted_and_is_resumed(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)
    interrupt(backend, runtime)
    # What SIGKILL or a power cut leaves: the row as the last page wrote it, and no lock held.
    with runtime.store().transaction() as conn:
        conn.execute("UPDATE imports SET state = 'running', detail = NULL")

    [shown] = build_status(runtime).imports
    assert (shown.state, shown.processed, shown.plays) == ("interrupted", 2 * trakt.PAGE, 500)
    assert shown.detail == "its process was killed or crashed"
    assert shown.command == "scrobctl import trakt"

    result = run(runtime, "trakt")

    assert result.resumed
    assert result.progress.plays == result.progress.new_plays == 5 * trakt.PAGE
    assert count(runtime, "plays") == 5 * trakt.PAGE
    [shown] = build_status(runtime).imports
    assert (shown.state, shown.detail) == ("done", None)


def test_importer_running_row_of_a_live_import_shows_running_and_a_second_import_waits_out(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)
    interrupt(backend, runtime)
    with runtime.store().transaction() as conn:
        conn.execute("UPDATE imports SET state = 'running', detail = NULL")

    with exclusive(lock_path(runtime, PROFILE, "trakt"), "import trakt"):
        assert build_status(runtime).imports[0].state == "running"
        with pytest.raises(LockHeld, match="another `scrobctl import trakt` is running"):
            run(runtime, "trakt")

    # The refused run changed nothing: the live one's row is still its own.
    assert load_checkpoint(runtime.store(), PROFILE, "trakt", HISTORY).state == "running"


def test_importer_counts_plays_and_ratings_apart_new_and_already_known(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)

    first = run(runtime, "trakt").progress
    again = run(runtime, "trakt", full=True).progress

    assert (first.plays, first.new_plays, first.ratings, first.new_ratings) == (
        5 * trakt.PAGE,
        5 * trakt.PAGE,
        1,
        1,
    )
    assert (again.plays, again.known_plays, again.new_plays) == (5 * trakt.PAGE, 5 * trakt.PAGE, 0)
    assert (again.ratings, again.known_ratings, again.new_ratings) == (1, 1, 0)
    assert first.matched == first.processed == 5 * trakt.PAGE + 1


def test_importer_lastfm_tracks_without_mbids_are_counted_as_matched_by_title(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = lastfm_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)

    p = run(runtime, "lastfm").progress

    assert p.plays == 5 * lastfm.PAGE and p.ratings == 1
    assert (p.matched, p.by_title, p.failed) == (0, p.processed, 0)


def test_importer_play_piped_before_the_import_is_counted_as_already_known(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)
    entry = backend.fake.entries[0]
    event = {
        "type": "movie",
        "ids": {"tmdb": entry["movie"]["ids"]["tmdb"]},
        "watched_at": entry["watched_at"],
        "percentage": 100,
        "duration_ms": 6_000_000,
    }
    Ingest(runtime.store(), {}).run(read_events(io.BytesIO(json.dumps(event).encode())))

    p = run(runtime, "trakt").progress

    assert (p.plays, p.known_plays, p.new_plays) == (5 * trakt.PAGE, 1, 5 * trakt.PAGE - 1)


def test_importer_resume_continues_from_page_3_without_rerequesting_pages_1_and_2(
    resumable: Backend, backend_runtime: Callable[..., Runtime]
) -> None:
    runtime = backend_runtime(resumable)
    before = interrupt(resumable, runtime)
    first_run = resumable.requests()[:before]

    result = run(runtime, resumable.service)

    second_run = resumable.requests()[before:]
    assert result.resumed
    assert second_run[0] == first_run[2]
    assert not set(first_run[:2]) & set(second_run)


def test_importer_resume_ends_with_the_rows_of_an_uninterrupted_import(
    backend: Backend, backend_runtime: Callable[..., Runtime], tmp_path: Path
) -> None:
    interrupted = backend_runtime(backend)
    interrupt(backend, interrupted)
    run(interrupted, backend.service)
    fresh = backend_runtime(backend, tmp_path / "fresh-data")

    run(fresh, backend.service)

    assert snapshot(interrupted) == snapshot(fresh)
    assert count(fresh, "plays") > 0 and count(fresh, "ratings") > 0


def test_importer_resumed_progress_counts_on_from_the_checkpoint(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)
    interrupt(backend, runtime)

    result = run(runtime, "trakt")

    assert (result.progress.processed, result.progress.failed) == (5 * trakt.PAGE + 1, 0)
    assert result.progress.total == 5 * trakt.PAGE


def test_importer_listenbrainz_resume_does_not_ask_the_listen_count_again(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = listenbrainz_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)
    interrupt(backend, runtime)
    totals: list[int | None] = []

    run(runtime, "listenbrainz", on_page=lambda p: totals.append(p.total))

    assert backend.fake.count_requests == 1
    assert totals[0] == 4 * lb.PAGE + 500


# -- incremental and --full -----------------------------------------------------------------------


def test_importer_incremental_run_asks_only_after_the_high_water_mark_minus_overlap(
    backend: Backend, backend_runtime: Callable[..., Runtime], clock: FakeClock
) -> None:
    runtime = backend_runtime(backend)
    run(runtime, backend.service)
    high = runtime.store().conn.execute("SELECT max(watched_at) FROM plays").fetchone()[0]
    clock.t += 3600
    backend.fake.add(*backend.new_plays(high))
    before = len(backend.requests())

    result = run(runtime, backend.service)

    assert result.since == high - OVERLAP
    assert set(backend.since_sent()[before:]) == {high - OVERLAP}


def test_importer_incremental_run_adds_only_the_new_plays(
    backend: Backend, backend_runtime: Callable[..., Runtime], clock: FakeClock
) -> None:
    runtime = backend_runtime(backend)
    run(runtime, backend.service)
    old = snapshot(runtime)
    high = max(row[3] for row in old["plays"])  # plays: id, profile, item_id, watched_at, ...
    clock.t += 3600
    backend.fake.add(*backend.new_plays(high))

    run(runtime, backend.service)

    new = snapshot(runtime)
    assert new["plays"][: len(old["plays"])] == old["plays"]
    assert [row[3] for row in new["plays"][len(old["plays"]) :]] == [high + 1200, high + 600]
    assert len(new["scrobbles"]) == len(old["scrobbles"]) + 2


def test_importer_full_run_asks_for_everything_again(
    backend: Backend, backend_runtime: Callable[..., Runtime]
) -> None:
    runtime = backend_runtime(backend)
    run(runtime, backend.service)
    before = len(backend.requests())

    result = run(runtime, backend.service, full=True)

    assert result.since is None
    assert set(backend.since_sent()[before:]) == {None}
    assert len(backend.requests()) - before >= before  # every page again


def test_importer_full_run_adds_no_duplicate_rows(
    backend: Backend, backend_runtime: Callable[..., Runtime]
) -> None:
    runtime = backend_runtime(backend)
    run(runtime, backend.service)
    first = snapshot(runtime)

    run(runtime, backend.service, full=True)

    assert snapshot(runtime) == first


def test_importer_full_run_keeps_the_high_water_mark_of_the_whole_history(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)
    run(runtime, "trakt")

    run(runtime, "trakt", full=True)

    checkpoint = load_checkpoint(runtime.store(), PROFILE, "trakt", HISTORY)
    newest = runtime.store().conn.execute("SELECT max(watched_at) FROM plays").fetchone()[0]
    assert checkpoint is not None
    assert (checkpoint.state, checkpoint.high_water) == ("done", newest)


# -- failed entries -------------------------------------------------------------------------------


BROKEN = [
    trakt.movie(7001, NOW - 5000, ids={}),  # no ids at all
    {  # an episode with neither ids of its own nor show ids + season + number
        "id": 7002,
        "watched_at": trakt_iso(NOW - 4000),
        "action": "watch",
        "type": "episode",
        "episode": {"title": "Pilot", "ids": {}},
        "show": {"title": "Unknown Show", "ids": {}},
    },
]


@pytest.fixture
def broken_trakt(api: respx.MockRouter, backend_runtime: Callable[..., Runtime]) -> Runtime:
    trakt.FakeTrakt([*trakt.movies(3), *BROKEN]).install(api)
    return backend_runtime(trakt_backend())


def test_importer_failed_entries_are_written_to_the_report_named_in_the_result(
    broken_trakt: Runtime,
) -> None:
    runtime = broken_trakt

    result = run(runtime, "trakt")

    assert result.report is not None
    assert result.report.parent == runtime.data_dir / "reports"
    lines = [json.loads(line) for line in result.report.read_text().splitlines()]
    assert sorted(line["entry"]["id"] for line in lines) == sorted(e["id"] for e in BROKEN)
    assert {line["service"] for line in lines} == {"trakt"}
    assert all(line["reason"] for line in lines)


def test_importer_failed_entries_do_not_stop_the_run(
    broken_trakt: Runtime,
) -> None:
    runtime = broken_trakt

    result = run(runtime, "trakt")

    assert (result.progress.failed, count(runtime, "plays")) == (2, 3)
    checkpoint = load_checkpoint(runtime.store(), PROFILE, "trakt", HISTORY)
    assert checkpoint is not None and checkpoint.state == "done"


def test_importer_clean_run_writes_no_report(
    api: respx.MockRouter, backend_runtime: Callable[..., Runtime]
) -> None:
    backend = trakt_backend()
    backend.fake.install(api)
    runtime = backend_runtime(backend)

    result = run(runtime, "trakt")

    assert result.report is None
    assert not (runtime.data_dir / "reports").exists()


# -- matching across services and stdin -----------------------------------------------------------


@pytest.fixture
def video_runtime(isolated_env: Path, clock: FakeClock) -> Iterator[Runtime]:
    runtime = logged_in(isolated_env, clock, "trakt", "simkl")
    yield runtime
    runtime.close()


MATRIX_TRAKT_IDS = {"trakt": 481, "slug": "the-matrix-1999", "imdb": "tt0133093", "tmdb": 603}


def test_import_same_movie_from_trakt_and_simkl_is_one_item_with_one_play(
    video_runtime: Runtime, api: respx.MockRouter
) -> None:
    watched = simkl.ts("2026-11-10T20:00:00Z")
    trakt.FakeTrakt([trakt.movie(1, watched, ids=MATRIX_TRAKT_IDS)]).install(api)
    simkl.FakeSimkl(movies=[simkl.movie("2026-11-10T20:00:00Z")]).install(api)

    run(video_runtime, "trakt")
    run(video_runtime, "simkl")

    conn = video_runtime.store().conn
    items = conn.execute("SELECT id, tmdb, imdb, trakt, simkl FROM items").fetchall()
    assert [tuple(r)[1:] for r in items] == [(603, "tt0133093", 481, 53536)]
    plays = conn.execute("SELECT item_id, watched_at FROM plays").fetchall()
    assert [tuple(r) for r in plays] == [(items[0][0], watched)]
    services = conn.execute("SELECT service, scrobbled_at FROM scrobbles ORDER BY service")
    assert [tuple(r) for r in services] == [("simkl", watched), ("trakt", watched)]


def test_import_trakt_episode_and_stdin_episode_by_show_ids_are_the_same_item(
    video_runtime: Runtime, api: respx.MockRouter
) -> None:
    trakt.FakeTrakt([trakt.episode(1, 2, NOW - 86_400)]).install(api)
    run(video_runtime, "trakt")
    piped = {
        "type": "episode",
        "show": {"title": "Game of Thrones", "ids": {"tmdb": 1399}},
        "season": 1,
        "number": 2,
        "duration_ms": 3_600_000,
        "percentage": 97,
        "watched_at": NOW - 3600,  # watched again today
    }
    lines = read_events(io.BytesIO((json.dumps(piped) + "\n").encode()))

    Ingest(video_runtime.store(), {}, now=NOW).run(lines)

    conn = video_runtime.store().conn
    plays = conn.execute("SELECT item_id, source FROM plays ORDER BY watched_at").fetchall()
    assert [r[1] for r in plays] == ["import:trakt", "stdin"]
    assert plays[0][0] == plays[1][0]
    assert conn.execute("SELECT count(*) FROM items WHERE kind = 'episode'").fetchone()[0] == 1


def test_ingest_after_lastfm_import_queues_only_for_the_services_without_the_play(
    api: respx.MockRouter, logged_in_lastfm: Runtime
) -> None:
    played = lastfm.Scrobble(NOW - 3600, "Hurt")
    lastfm.FakeLastfm([played, *lastfm.scrobbles(5, newest=NOW - 7200)]).install(api)
    runtime = logged_in_lastfm
    run(runtime, "lastfm")
    event = {
        "type": "track",
        "artist": played.artist,
        "title": played.title,
        "album": played.album,
        "duration_ms": 218_000,
        "watched_ms": 218_000,
        "watched_at": played.uts,
    }
    lines = read_events(io.BytesIO((json.dumps(event) + "\n").encode()))
    routes = {PROFILE: {"track": ["lastfm", "listenbrainz"]}}

    summary = Ingest(runtime.store(), routes, now=NOW).run(lines)

    jobs = runtime.store().conn.execute("SELECT service FROM jobs").fetchall()
    assert summary.jobs == {"listenbrainz": 1}
    assert [r[0] for r in jobs] == ["listenbrainz"]
