"""The shared play-tracking rules (watch/tracker.py), driven by a fake clock."""

from __future__ import annotations

from typing import Any

from scrobctl.scrobble.events import Event
from scrobctl.watch.tracker import Play, PlayTracker, Snapshot, Song, State

T0 = 1_795_000_000.0
A = Song(
    "1:a.flac", "Song A", "The Testers", "Silence", 40.0, "9f1c3f6c-0f1a-4a4c-9d37-0d5f1b3c2a11"
)
B = Song("2:b.flac", "Song B", "The Testers", "Silence", 40.0)


class Player:
    """A player under a fake clock: `wait` moves time, `report` is one snapshot."""

    def __init__(self) -> None:
        self.now = T0
        self.tracker = PlayTracker()
        self.events: list[dict[str, Any]] = []

    def wait(self, seconds: float) -> None:
        self.now += seconds

    def report(self, state: State, song: Song | None, position: float | None = None) -> None:
        self.events.extend(self.tracker.observe(Snapshot(state, song, position), self.now))

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]

    def stops(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "stop"]


def test_tracker_counts_play_time_without_the_pause() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(20)
    p.report("paused", A, 20.0)
    p.wait(10)
    p.report("playing", A, 20.0)
    p.wait(20)
    p.report("playing", B, 0.0)
    [stop] = p.stops()
    assert stop["watched_ms"] == 40_000
    assert stop["watched_at"] == int(T0)


def test_tracker_announces_each_play_once_however_often_it_pauses() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    for _ in range(3):
        p.wait(5)
        p.report("paused", A, 5.0)
        p.wait(5)
        p.report("playing", A, 5.0)
    assert p.kinds() == ["start"]


def test_tracker_events_follow_the_scrobble_contract() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(30)
    p.report("stopped", None)
    start, stop = (Event.model_validate(e) for e in p.events)
    assert (start.event, stop.event) == ("start", "stop")
    assert stop.duration_ms == 40_000 and stop.ids.mbid == A.mbid
    assert stop.title == "Song A" and stop.artist == "The Testers" and stop.album == "Silence"


def test_tracker_position_going_back_to_the_start_is_a_new_play() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(40)
    p.report("playing", A, 39.9)
    p.wait(0.5)
    p.report("playing", A, 0.4)  # single-track repeat: same song, position back near 0
    p.wait(30)
    p.report("stopped", None)
    assert p.kinds() == ["start", "stop", "start", "stop"]
    first, second = p.stops()
    assert first["watched_at"] == int(T0) and first["watched_ms"] == 40_000
    assert second["watched_at"] == int(T0 + 40.1)
    assert second["watched_ms"] == 30_400


def test_tracker_a_stale_first_position_corrects_the_start_and_is_no_repeat() -> None:
    """playerctl can print the new track's metadata with the old track's position."""
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(18)
    p.report("playing", B, 18.0)  # B just began; 18 s is what A had reached
    p.wait(1)
    p.report("playing", B, 0.8)
    p.wait(20)
    p.report("stopped", None)
    assert p.kinds() == ["start", "stop", "start", "stop"]
    assert p.stops()[1]["watched_at"] == int(T0 + 18.2)


def test_tracker_seeking_back_within_the_song_is_the_same_play() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(20)
    p.report("playing", A, 10.0)  # sought back from 20 s to 10 s
    p.wait(10)
    p.report("stopped", None)
    assert p.kinds() == ["start", "stop"]
    assert p.stops()[0]["watched_ms"] == 30_000


def test_tracker_seeking_forward_adds_no_play_time() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(5)
    p.report("playing", A, 35.0)
    p.wait(5)
    p.report("playing", B, 0.0)
    assert p.stops()[0]["watched_ms"] == 10_000


def test_tracker_stop_ends_the_play() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(5)
    p.report("stopped", None)
    assert p.kinds() == ["start", "stop"]
    assert p.stops()[0]["watched_ms"] == 5_000
    assert p.tracker.current is None


def test_tracker_a_song_first_seen_late_starts_when_it_began() -> None:
    p = Player()
    p.report("playing", A, 25.0)  # the watcher started 25 s into the song
    p.wait(10)
    p.report("stopped", None)
    start, stop = p.events
    assert start["watched_at"] == stop["watched_at"] == int(T0 - 25)
    assert stop["watched_ms"] == 10_000  # only what was seen playing


def test_tracker_splits_the_interval_at_a_song_change_seen_late() -> None:
    p = Player()
    p.report("playing", A, 30.0)
    p.wait(10)
    p.report("playing", B, 4.0)  # A ended 6 s after the last look, B has played 4 s
    p.wait(20)
    p.report("stopped", None)
    a, b = p.stops()
    assert a["watched_ms"] == 6_000
    assert b["watched_at"] == int(T0 + 6) and b["watched_ms"] == 24_000


def test_tracker_a_song_only_seen_paused_is_no_play() -> None:
    p = Player()
    p.report("paused", A, 12.0)
    p.wait(60)
    p.report("playing", B, 0.0)
    assert p.kinds() == ["start"]
    assert p.events[0]["title"] == "Song B"


def test_tracker_never_counts_more_than_the_song_lasts() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(100)  # no snapshot between: a player that reports nothing on a repeat
    p.report("stopped", None)
    assert p.stops()[0]["watched_ms"] == 40_000


def test_tracker_suspended_play_counts_nothing_until_the_player_is_back() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(10)
    p.tracker.suspend(p.now)  # connection lost
    p.wait(30)
    p.report("playing", A, 11.0)  # back, same song: the play goes on
    p.wait(10)
    p.report("stopped", None)
    assert p.kinds() == ["start", "stop"]
    assert p.stops()[0]["watched_ms"] == 20_000


def test_tracker_a_song_back_at_its_start_after_a_lost_connection_is_a_new_play() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(30)
    p.tracker.suspend(p.now)  # lost 30 s in; the player came back playing A from the start
    p.wait(10)
    p.report("playing", A, 1.0)
    assert p.kinds() == ["start", "stop", "start"]
    assert p.stops()[0]["watched_ms"] == 30_000


def test_tracker_ignores_a_snapshot_older_than_the_last() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(10)
    p.report("playing", A, 10.0)
    p.events.extend(p.tracker.observe(Snapshot("stopped", None), p.now - 5))
    assert p.kinds() == ["start"]


def test_tracker_state_survives_a_round_trip_through_a_dict() -> None:
    p = Player()
    p.report("playing", A, 0.0)
    p.wait(20)
    p.report("paused", A, 20.0)
    assert p.tracker.current is not None
    restored = PlayTracker(Play.from_dict(p.tracker.current.to_dict()))
    p.tracker = restored
    p.wait(5)
    p.report("playing", A, 20.0)
    p.wait(10)
    p.report("stopped", None)
    assert p.kinds() == ["start", "stop"]
    assert p.stops()[0]["watched_ms"] == 30_000


def test_tracker_without_positions_counts_by_the_clock() -> None:
    """cmus gives no position: status changes alone."""
    p = Player()
    p.report("playing", A)
    p.wait(15)
    p.report("paused", A)
    p.wait(100)
    p.report("playing", A)
    p.wait(15)
    p.report("playing", B)
    assert p.stops()[0]["watched_ms"] == 30_000
    assert p.events[-1]["event"] == "start" and p.events[-1]["watched_at"] == int(p.now)
