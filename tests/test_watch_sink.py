"""The sink every watcher hands its events to: the one ingest path, a verdict per play."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scrobctl.config import load_settings
from scrobctl.runtime import Runtime
from scrobctl.watch import sink as sink_module
from scrobctl.watch.sink import Outcome, Sink
from scrobctl.watch.tracker import Song

SONG = Song("a.flac", "Song A", "The Testers", "Silence", 40.0)
AT = 1_795_000_000


def deliver(data_dir: Path, events: list[dict[str, Any]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    runtime = Runtime(settings=load_settings(), warn=lambda _: None)
    sink = Sink(runtime, "mpd", on_play=outcomes.append, on_now_playing=lambda *_: None, warn=print)

    async def go() -> None:
        await sink.deliver(events)
        await sink.close()

    try:
        asyncio.run(go())
    finally:
        runtime.close()
    return outcomes


def test_sink_records_a_finished_play_with_its_source(data_dir: Path) -> None:
    [outcome] = deliver(data_dir, [SONG.event("stop", watched_ms=30_000, watched_at=AT)])
    assert outcome.verdict == "recorded"  # no service connected: kept in the history only
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    assert conn.execute("SELECT watched_at, played_ms, source FROM plays").fetchall() == [
        (AT, 30_000, "mpd")
    ]


def test_sink_says_which_threshold_a_short_play_missed(data_dir: Path) -> None:
    [outcome] = deliver(data_dir, [SONG.event("stop", watched_ms=5_000, watched_at=AT)])
    assert outcome.verdict == "below threshold"
    assert outcome.reason == "played 12 %, under 50 % and under 4 min"


def test_sink_a_play_delivered_twice_is_recorded_once(data_dir: Path) -> None:
    stop = SONG.event("stop", watched_ms=30_000, watched_at=AT)
    outcomes = deliver(data_dir, [stop, stop])
    assert [o.verdict for o in outcomes] == ["recorded", "duplicate"]


def test_sink_reports_a_song_without_tags_as_invalid(data_dir: Path) -> None:
    untagged = Song("x.flac", None, None, None, 40.0)
    [outcome] = deliver(
        data_dir,
        [
            untagged.event("start", watched_at=AT),
            untagged.event("stop", watched_ms=1, watched_at=AT),
        ],
    )
    assert outcome.verdict == "invalid"
    assert outcome.reason is not None and "title" in outcome.reason


def test_sink_keeps_plays_it_could_not_record_and_records_them_next_time(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sink_module.ingest_lines
    calls = {"n": 0}

    def locked_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(sink_module, "ingest_lines", locked_once)
    first = SONG.event("stop", watched_ms=30_000, watched_at=AT)
    second = SONG.event("stop", watched_ms=30_000, watched_at=AT + 100)
    outcomes: list[Outcome] = []
    warnings: list[str] = []
    runtime = Runtime(settings=load_settings(), warn=lambda _: None)
    sink = Sink(
        runtime,
        "mpd",
        on_play=outcomes.append,
        on_now_playing=lambda *_: None,
        warn=warnings.append,
    )

    async def go() -> None:
        await sink.deliver([first])
        assert outcomes == [] and "database is locked" in warnings[0]
        await sink.deliver([second])

    try:
        asyncio.run(go())
    finally:
        runtime.close()
    assert [(o.event["watched_at"], o.verdict) for o in outcomes] == [
        (AT, "recorded"),
        (AT + 100, "recorded"),
    ]
