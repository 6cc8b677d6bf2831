"""Lines printed by `playerctl metadata --format FORMAT`, as snapshots and as playback events.

playerctl (altdesktop/playerctl doc/playerctl.1.in, playerctl/playerctl-cli.c): `position` and
`mpris:length` are in microseconds; a variable the player does not set expands to ""; array
values such as `xesam:artist` are joined with ", "; with `--follow` a line is printed whenever
the output changes, and every second while `position` moves; when the followed player goes
away, the line is empty. Fields here are separated by tabs (a title holding a tab makes a line
with too many fields, which is refused rather than guessed at).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from scrobctl.scrobble.events import MAX_LINE_BYTES, Line, parse_one
from scrobctl.watch.tracker import Snapshot, Song

VARIABLES = (
    "playerName",
    "status",
    "position",
    "mpris:length",
    "xesam:artist",
    "xesam:title",
    "xesam:album",
    "mpris:trackid",
    "xesam:url",
)
FORMAT = "\t".join("{{" + name + "}}" for name in VARIABLES)
STATES = {"Playing": "playing", "Paused": "paused"}


@dataclass(frozen=True, slots=True)
class PlayerLine:
    player: str
    status: str
    position: float | None  # seconds
    length: float | None  # seconds
    artist: str | None
    title: str | None
    album: str | None
    trackid: str | None
    url: str | None

    def snapshot(self) -> Snapshot:
        state = STATES.get(self.status)
        if state is None or not (self.title or self.url):
            return Snapshot("stopped", None)
        # The track id alone is not enough: some players send one fixed "NoTrack" id.
        key = "\x1f".join(v or "" for v in (self.trackid, self.url, self.artist, self.title))
        song = Song(key, self.title, self.artist, self.album, self.length)
        return Snapshot(state, song, self.position)  # type: ignore[arg-type]


def _micros(text: str) -> float | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value / 1_000_000 if value >= 0 else None


def parse(text: str) -> PlayerLine | None:
    """One line (without its newline); None for the empty line of "no player"."""
    if not text.strip():
        return None
    fields = text.split("\t")
    if len(fields) != len(VARIABLES):
        raise ValueError(
            f"expected {len(VARIABLES)} tab-separated fields (the --format of"
            f" `scrobctl watch mpris --print-format`), got {len(fields)}"
        )
    player, status, position, length, artist, title, album, trackid, url = (
        f.strip() for f in fields
    )
    return PlayerLine(
        player,
        status,
        _micros(position),
        _micros(length),
        artist or None,
        title or None,
        album or None,
        trackid or None,
        url or None,
    )


def one_shot(line: PlayerLine, now: float) -> list[dict[str, Any]]:
    """A single look at a player as events: the play so far (its position is what was played,
    from now - position), and a start for now-playing if it is playing. Looking again later
    gives the same start, so ingest's duplicate rule keeps one play."""
    snapshot = line.snapshot()
    song = snapshot.song
    if song is None:
        return []
    position = snapshot.position or 0.0
    if song.duration:
        position = min(position, song.duration)
    started = int(now - position)
    events = [song.event("stop", watched_ms=round(position * 1000), watched_at=started)]
    if snapshot.state == "playing":
        events.append(song.event("start", watched_at=started))
    return events


def read_lines(stream: BinaryIO, now: float) -> Iterator[Line]:
    """`scrobctl scrobble --format playerctl`: each input line is one look at a player."""
    import json

    for number, raw in enumerate(stream, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield Line(number, None, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            parsed = parse(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError:
            yield Line(number, None, "not valid UTF-8")
            continue
        except ValueError as exc:
            yield Line(number, None, str(exc))
            continue
        if parsed is None:
            continue
        events = one_shot(parsed, now)
        if not events:
            yield Line(number, None, f"{parsed.player or 'the player'} is not playing anything")
        for event in events:
            yield parse_one(json.dumps(event), number)
