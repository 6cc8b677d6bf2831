"""The play-tracking rules every watched player shares (MPD, MPRIS, cmus).

A watcher turns what its player reports into `Snapshot`s; `PlayTracker` turns the snapshots into
the playback events `scrobctl scrobble` reads (DESIGN.md "Playback event contract"):

- time counts while the player is playing, by the clock between snapshots, so a pause or a seek
  forward adds nothing;
- a play ends when the song changes, the player stops, or the same song starts again: its
  position went back to the first seconds (a single-track repeat keeps MPD's `songid`, so the
  position is the only sign; hrkfdn/mpdas#52 does the same);
- a play starts at `now - position` (its real start, even when first seen late) and is
  announced with a `start` event the first time it is seen playing;
- a jump back in the first seconds after a play is first seen corrects its start instead:
  playerctl can report the previous track's position with the new track's metadata.

Thresholds, duplicates and routing are not decided here: the events go to the one ingest path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

State = Literal["playing", "paused", "stopped"]

SEEK_SLACK = 2.0  # seconds a position may lag behind the clock before it counts as going back
RESTART_WITHIN = 5.0  # a jump back to before this position is the song starting again


@dataclass(frozen=True, slots=True)
class Song:
    """What is playing. `key` tells songs apart (MPD's song id and file, MPRIS's track id)."""

    key: str
    title: str | None
    artist: str | None
    album: str | None = None
    duration: float | None = None  # seconds
    mbid: str | None = None  # MusicBrainz recording id

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "track", "event": kind, "title": self.title}
        event["artist"] = self.artist
        if self.album:
            event["album"] = self.album
        if self.duration:
            event["duration_ms"] = round(self.duration * 1000)
        if self.mbid:
            event["ids"] = {"mbid": self.mbid}
        event.update(fields)
        return event


@dataclass(frozen=True, slots=True)
class Snapshot:
    state: State
    song: Song | None
    position: float | None = None  # seconds into the song, when the player says


@dataclass(slots=True)
class Play:
    song: Song
    started: float  # clock time playback began
    counted: float  # seconds played so far
    last_at: float  # clock time of the latest snapshot
    last_position: float | None
    playing: bool
    first_at: float  # clock time the play was first seen
    announced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Play:
        return cls(**{**data, "song": Song(**data["song"])})


class PlayTracker:
    """Follows one player. `observe` returns the events its snapshot completes, in order."""

    def __init__(self, current: Play | None = None) -> None:
        self.current = current

    def observe(self, snapshot: Snapshot, at: float) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        carried = 0.0  # seconds of the interval that belong to the next play
        play = self.current
        if play is not None:
            if at < play.last_at:
                return []  # an older snapshot arriving late (overlapping hook calls)
            elapsed = at - play.last_at
            song = snapshot.song
            same = snapshot.state != "stopped" and song is not None and song.key == play.song.key
            went_back = same and self._went_back(play, snapshot, elapsed)
            if went_back and at - play.first_at < RESTART_WITHIN:
                play.started = at - (snapshot.position or 0.0)  # a stale first position
                went_back = False
            if same and not went_back:
                if play.playing:
                    play.counted += elapsed
                play.playing = snapshot.state == "playing"
                play.last_at, play.last_position = at, snapshot.position
                if play.playing and not play.announced:
                    play.announced = True
                    events.append(self._start(play))
                return events
            if play.playing and snapshot.state == "playing":
                # The next song has been playing for its position, at most the whole interval.
                carried = min(elapsed, max(snapshot.position or 0.0, 0.0))
            if play.playing:
                play.counted += elapsed - carried
            events.extend(self._end(play))
        if snapshot.state == "stopped" or snapshot.song is None:
            return events
        position = max(snapshot.position or 0.0, 0.0)
        play = self.current = Play(
            song=snapshot.song,
            started=at - position,
            counted=carried,
            last_at=at,
            last_position=snapshot.position,
            playing=snapshot.state == "playing",
            first_at=at,
        )
        if play.playing:
            play.announced = True
            events.append(self._start(play))
        return events

    def finish(self, at: float) -> list[dict[str, Any]]:
        """End the open play (the watcher is stopping, or lost its player)."""
        return self.observe(Snapshot("stopped", None), at)

    def suspend(self, at: float) -> None:
        """Stop counting from `at` but keep the play open (the player's connection is lost;
        if it comes back with the same song, the play goes on)."""
        play = self.current
        if play is not None and at >= play.last_at:
            if play.playing:
                play.counted += at - play.last_at
                if play.last_position is not None:  # where it had got to when lost
                    play.last_position += at - play.last_at
            play.playing = False
            play.last_at = at

    @staticmethod
    def _went_back(play: Play, snapshot: Snapshot, elapsed: float) -> bool:
        if snapshot.position is None or play.last_position is None:
            return False
        expected = play.last_position + (elapsed if play.playing else 0.0)
        return snapshot.position < expected - SEEK_SLACK and snapshot.position < RESTART_WITHIN

    def _start(self, play: Play) -> dict[str, Any]:
        return play.song.event("start", watched_at=int(play.started))

    def _end(self, play: Play) -> list[dict[str, Any]]:
        self.current = None
        if not play.announced:
            return []  # seen only paused: never played while watched
        counted = play.counted
        if play.song.duration:
            counted = min(counted, play.song.duration)
        return [
            play.song.event("stop", watched_ms=round(counted * 1000), watched_at=int(play.started))
        ]
