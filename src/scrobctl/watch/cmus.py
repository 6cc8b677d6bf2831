"""`watch cmus`: one call of cmus's `status_display_program`, with the play kept in between.

cmus (cmus/cmus ui_curses.c) runs the program as a new process on every status change, and
once with `status exiting` when it quits. The arguments are key/value pairs: `status
<stopped|playing|paused|exiting>`, then `file <path>` or `url <url>`, then whichever of
`artist albumartist album discnumber tracknumber title date musicbrainz_trackid` exist, and
`duration <seconds>`. There is no position (contrib/cmus/scrobctl-cmus adds `position` from
`cmus-remote -Q`, which is what tells a repeat from a pause), so the open play lives in a small
JSON file in the data folder between calls, under a lock, and the shared tracker does the rest.
The hook also adds `at <unix time>`, the moment cmus called it: scrobctl runs in the background
and may start a while later.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scrobctl.lock import exclusive
from scrobctl.watch.tracker import Play, PlayTracker, Snapshot, Song

STATE_NAME = "cmus-state.json"
LOCK_NAME = "cmus-state.lock"
STATES = {"playing": "playing", "paused": "paused"}
AT_WINDOW = 600  # seconds: an `at` further from now than this is not believed


def _pairs(args: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in zip(args[::2], args[1::2], strict=False):
        tags.setdefault(key, value)
    return tags


def call_time(args: list[str], now: float) -> float:
    """When cmus made the call: the hook's `at`, if it is plausible, else now."""
    try:
        at = float(_pairs(args)["at"])
    except (KeyError, ValueError):
        return now
    return at if abs(at - now) <= AT_WINDOW else now


def snapshot(args: list[str]) -> Snapshot:
    """cmus's key/value arguments as a snapshot (`exiting` and `stopped` end the play)."""
    tags = _pairs(args)
    state = STATES.get(tags.get("status", ""))
    where = tags.get("file") or tags.get("url")
    if state is None or not where:
        return Snapshot("stopped", None)
    try:
        duration = float(tags["duration"]) if "duration" in tags else None
    except ValueError:
        duration = None
    try:
        position = float(tags["position"]) if "position" in tags else None
    except ValueError:
        position = None
    song = Song(
        key=where,
        title=tags.get("title") or None,
        artist=tags.get("artist") or tags.get("albumartist") or None,
        album=tags.get("album") or None,
        duration=duration if duration and duration > 0 else None,
        mbid=tags.get("musicbrainz_trackid") or None,
    )
    return Snapshot(state, song, position)  # type: ignore[arg-type]


def observe(data_dir: Path, args: list[str], now: float) -> list[dict[str, Any]]:
    """Apply one call to the kept play; the events it completes."""
    at = call_time(args, now)
    path = data_dir / STATE_NAME
    with exclusive(data_dir / LOCK_NAME, "watch cmus", wait=True):
        tracker = PlayTracker(_load(path))
        events = tracker.observe(snapshot(args), at)
        _save(path, tracker.current)
    return events


def _load(path: Path) -> Play | None:
    try:
        data = json.loads(path.read_text())
        return Play.from_dict(data) if data else None
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError):
        return None  # a damaged state file costs the play in progress, nothing else


def _save(path: Path, play: Play | None) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(play.to_dict() if play else None))
    os.replace(tmp, path)
