"""Spotify's streaming history: the extended one (`Streaming_History_Audio_*.json`, older
`endsong_*.json`) and the account-data one (`StreamingHistory*.json`). api-notes
file-formats.md §1.

* `ts` (and `endTime`) is when the stream *ended*, in UTC: the play began `ms_played` earlier.
* Rows carry no track length, so Spotify's own stream rule decides (ListenBrainz's and Maloja's
  importers follow it): a track counts at 30 s played, an episode or audiobook chapter at 5 min.
* Incognito plays are skipped. An identical row again within a few minutes (all fields but
  `ts` equal) is the export's repeat, not a second play (ortham.net 2024-12-21).
* Offline streams can share one `ts`: each row is still its own play. `offline_timestamp` is not
  used: its unit changed over the years and its values need not relate to the play at all.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from scrobctl.scrobble.events import Event
from scrobctl.sync.files.base import (
    FileLine,
    JsonError,
    Numbering,
    Source,
    basename,
    event_line,
    iso_utc,
    json_array,
    skipped,
    text_or_none,
    unreadable,
)

NAME = "spotify"
LABEL = "Spotify streaming history (extended or account data)"
TRACK_MIN_MS = 30_000
EPISODE_MIN_MS = 300_000
REPEAT_WITHIN = 180  # seconds between two identical rows that make one play
REPEAT_MEMORY = 10_000  # rows kept at most, should thousands share one minute
REPEAT = "repeat of an identical row (only its ts differs by minutes)"
_EXTENDED = re.compile(r"(streaming_history_audio|endsong).*\.json$", re.IGNORECASE)
# Every field of a row but its end time (the extended and the account-data names).
_ROW_FIELDS = (
    "ms_played",
    "spotify_track_uri",
    "spotify_episode_uri",
    "audiobook_chapter_uri",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "episode_name",
    "episode_show_name",
    "platform",
    "conn_country",
    "ip_addr",
    "ip_addr_decrypted",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "offline_timestamp",
    "msPlayed",
    "trackName",
    "artistName",
    "episodeName",
    "podcastName",
)
_ACCOUNT = re.compile(r"streaminghistory.*\.json$", re.IGNORECASE)


def _wanted(name: str) -> bool:
    base = basename(name)
    return bool(_EXTENDED.search(base) or _ACCOUNT.search(base)) and "video" not in base.lower()


def detect(source: Source) -> bool:
    if source.is_zip:
        return any(_wanted(name) for name in source.names())
    head = source.members[0].head(4096)
    return head.lstrip().startswith(b"[") and (
        (b'"ms_played"' in head and b'"ts"' in head) or (b'"msPlayed"' in head)
    )


def precision(source: Source) -> int:
    """Account data has whole minutes; the extended history whole seconds."""
    if not source.is_zip:
        return 60 if b'"endTime"' in source.members[0].head(4096) else 0
    return 60 if any(_ACCOUNT.search(basename(n)) for n in source.names()) else 0


def rule(event: Event) -> str | None:
    """Spotify's stream rule: a track at 30 s, spoken word at 5 min (rows have no length)."""
    played = event.watched_ms or 0
    if event.type == "track" and played < TRACK_MIN_MS:
        return "played under 30 s"
    if event.type == "podcast" and played < EPISODE_MIN_MS:
        return "played under 5 min"
    return None


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    members = [m for m in source.members if not source.is_zip or _wanted(m.name)]
    members.sort(key=lambda m: m.name)
    for member in members:
        repeats = _Repeats()
        with member.open() as stream:
            row = 0
            try:
                for row, (item, text) in enumerate(json_array(stream), start=1):
                    yield _line(numbering, member.name, row, item, text, repeats)
            except JsonError as exc:
                yield unreadable(numbering, member.name, row + 1, None, f"{member.name}: {exc}")


class _Repeats:
    """The rows of the last few minutes (by `ts`), to tell the export's repeats: memory holds
    what REPEAT_WITHIN spans, whatever the file's length."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], int] = {}
        self._order: deque[tuple[int, tuple[Any, ...]]] = deque()

    def repeat(self, item: dict[str, Any], ts: int) -> bool:
        key = tuple(map(item.get, _ROW_FIELDS))
        order, seen = self._order, self._seen
        while order and (order[0][0] < ts - REPEAT_WITHIN or len(order) > REPEAT_MEMORY):
            old_ts, old_key = order.popleft()
            if seen.get(old_key) == old_ts:
                del seen[old_key]
        try:
            last = seen.get(key)
        except TypeError:  # a value that is not a JSON scalar: no row of Spotify's
            return False
        seen[key] = ts
        order.append((ts, key))
        return last is not None and abs(ts - last) <= REPEAT_WITHIN


def _line(
    numbering: Numbering, member: str, row: int, item: Any, text: str, repeats: _Repeats
) -> FileLine:
    if not isinstance(item, dict):
        return unreadable(numbering, member, row, item, "a row must be a JSON object")
    if "endTime" in item:
        return _account_line(numbering, member, row, item, text, repeats)
    try:
        ended = iso_utc(item["ts"])
        played = int(item["ms_played"])
    except (KeyError, TypeError, ValueError):
        return unreadable(numbering, member, row, None, "needs 'ts' and 'ms_played'", text)
    if item.get("incognito_mode") is True:
        return skipped(numbering, member, row, None, "incognito play", text)
    if repeats.repeat(item, ended):
        return skipped(numbering, member, row, None, REPEAT, text)
    start = (ended * 1000 - played) // 1000
    track = text_or_none(item.get("master_metadata_track_name"))
    episode = text_or_none(item.get("episode_name"))
    chapter = text_or_none(item.get("audiobook_chapter_title"))
    book = text_or_none(item.get("audiobook_title"))
    if track is not None:
        fields = {
            "type": "track",
            "title": track,
            "artist": item.get("master_metadata_album_artist_name"),
            "album": text_or_none(item.get("master_metadata_album_album_name")),
        }
    elif episode is not None:
        fields = {"type": "podcast", "title": episode, "artist": item.get("episode_show_name")}
    elif book is not None:
        fields = {"type": "podcast", "title": chapter or book, "artist": book}
    else:
        return skipped(numbering, member, row, None, "no track, episode or audiobook named", text)
    fields["watched_ms"] = played
    fields["watched_at"] = start
    return event_line(numbering, member, row, None, fields, text)


def _account_line(
    numbering: Numbering,
    member: str,
    row: int,
    item: dict[str, Any],
    text: str,
    repeats: _Repeats,
) -> FileLine:
    """Account data: `endTime` "YYYY-MM-DD HH:MM" in UTC (minute precision), no album, no URI."""
    try:
        ended = iso_utc(item["endTime"])
        played = int(item["msPlayed"])
    except (KeyError, TypeError, ValueError):
        return unreadable(numbering, member, row, None, "needs 'endTime' and 'msPlayed'", text)
    if repeats.repeat(item, ended):
        return skipped(numbering, member, row, None, REPEAT, text)
    if text_or_none(item.get("trackName")):
        fields = {"type": "track", "title": item["trackName"], "artist": item.get("artistName")}
    elif text_or_none(item.get("episodeName")):
        fields = {
            "type": "podcast",
            "title": item["episodeName"],
            "artist": item.get("podcastName"),
        }
    else:
        return skipped(numbering, member, row, None, "no track or episode named", text)
    fields["watched_ms"] = played
    fields["watched_at"] = (ended * 1000 - played) // 1000
    return event_line(numbering, member, row, None, fields, text)
