"""Last.fm exports (api-notes file-formats.md §2): the lastfm.ghan.nl CSV (`uts` header), the
benjaminbenben/lastfm-to-csv CSV (no header: artist, album, title, date text in UTC, minute
precision, `"` and `,` removed from values by its generator) and the ghan JSON (an array of
`user.getRecentTracks` pages). Every row is a scrobble Last.fm stored: it counts as it is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from scrobctl.sync.files.base import (
    FileLine,
    JsonError,
    Numbering,
    Source,
    already_counted,
    csv_rows,
    event_line,
    json_array,
    skipped,
    text_or_none,
    unreadable,
)

NAME = "lastfm"
LABEL = "Last.fm export"
RATING_SOURCE = "lastfm"
GHAN_HEADER = ["uts", "utc_time", "artist", "artist_mbid", "album", "album_mbid", "track"]
DATE_TEXT = "%d %b %Y %H:%M"
rule = already_counted


def _date_text(value: str) -> int:
    return int(datetime.strptime(value.strip(), DATE_TEXT).replace(tzinfo=UTC).timestamp())


def _kind(head: bytes) -> str | None:
    text = head.decode("utf-8-sig", "replace").lstrip()
    first = text.splitlines()[0] if text else ""
    if first.startswith("uts,utc_time,"):
        return "ghan-csv"
    if text.startswith("[") and '"track"' in text and '"#text"' in text:
        return "ghan-json"
    parts = first.rsplit(",", 1)
    if len(parts) == 2 and first.count(",") == 3:
        try:
            _date_text(parts[1])
            return "date-csv"
        except ValueError:
            return None
    return None


def detect(source: Source) -> bool:
    return not source.is_zip and _kind(source.members[0].head(4096)) is not None


def precision(source: Source) -> int:
    """Seconds a row's time may be off: the date-text CSV has minutes only."""
    return 60 if _kind(source.members[0].head(4096)) == "date-csv" else 0


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    for member in source.members:
        kind = _kind(member.head(4096))
        with member.open() as stream:
            if kind == "ghan-json":
                yield from _json(numbering, member.name, stream)
            else:
                yield from _csv(numbering, member.name, stream, header=kind == "ghan-csv")


def _csv(numbering: Numbering, member: str, stream: Any, *, header: bool) -> Iterator[FileLine]:
    rows = csv_rows(stream)
    names = next(rows, None) if header else None
    for row, values in enumerate(rows, start=2 if header else 1):
        if not any(v.strip() for v in values):
            continue
        raw: Any = dict(zip(names, values, strict=False)) if names else values
        try:
            if names:
                at = int(raw["uts"])
                artist, album, title = raw["artist"], raw.get("album"), raw["track"]
                mbid = text_or_none(raw.get("track_mbid"))
            else:
                artist, album, title, date = values
                at, mbid = _date_text(date), None
        except (KeyError, ValueError, TypeError):
            yield unreadable(numbering, member, row, raw, "needs a time, an artist and a title")
            continue
        fields = {
            "type": "track",
            "title": title,
            "artist": artist,
            "album": text_or_none(album),
            "watched_at": at,
        }
        if mbid:
            fields["ids"] = {"mbid": mbid}
        yield event_line(numbering, member, row, raw, fields)


def _json(numbering: Numbering, member: str, stream: Any) -> Iterator[FileLine]:
    row = 0
    try:
        for page, _text in json_array(stream):
            tracks = page.get("track") if isinstance(page, dict) else None
            if tracks is None and isinstance(page, dict):
                tracks = (page.get("recenttracks") or {}).get("track")
            if not isinstance(tracks, list):
                row += 1
                yield unreadable(numbering, member, row, page, "a page without 'track'")
                continue
            for track in tracks:
                row += 1
                yield _json_track(numbering, member, row, track)
    except JsonError as exc:
        yield unreadable(numbering, member, row + 1, None, str(exc))


def _json_track(numbering: Numbering, member: str, row: int, track: Any) -> FileLine:
    if not isinstance(track, dict):
        return unreadable(numbering, member, row, track, "a track must be a JSON object")
    if (track.get("@attr") or {}).get("nowplaying") and not track.get("date"):
        return skipped(numbering, member, row, track, "now playing (not a scrobble yet)")
    try:
        at = int((track.get("date") or {})["uts"])
        artist = track["artist"]["#text"] if isinstance(track["artist"], dict) else track["artist"]
    except (KeyError, TypeError, ValueError):
        return unreadable(numbering, member, row, track, "needs 'date.uts' and 'artist'")
    album = track.get("album")
    fields: dict[str, Any] = {
        "type": "track",
        "title": track.get("name"),
        "artist": artist,
        "album": text_or_none(album.get("#text") if isinstance(album, dict) else album),
        "watched_at": at,
    }
    if text_or_none(track.get("mbid")):
        fields["ids"] = {"mbid": track["mbid"]}
    return event_line(numbering, member, row, track, fields)
