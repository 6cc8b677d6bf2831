"""The ListenBrainz user export (api-notes file-formats.md §3): the zip of
`listens/<YYYY>/<M>.jsonl` and `feedback.jsonl` (listenbrainz-server
`listenbrainz/background/export.py`), and the older single JSON array. Epochs may be decimals;
`recording_msid` may sit inside `track_metadata` or at the top (PR #3627): both are read. The
recording MBID is the server's own resolution (`mbid_mapping`), never the client-sent one, which
may be a track MBID."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from scrobctl.sync.files.base import (
    FileLine,
    JsonError,
    Member,
    Numbering,
    Source,
    already_counted,
    basename,
    event_line,
    json_array,
    json_lines,
    skipped,
    text_or_none,
    unreadable,
)

NAME = "listenbrainz"
LABEL = "ListenBrainz export"
RATING_SOURCE = "listenbrainz"
FEEDBACK_RATING = {1: 10.0, -1: 1.0}  # love and hate, as `import listenbrainz` reads them
TITLES_KEPT = 200_000  # recordings remembered from the listens, to name their feedback
_LISTENS = re.compile(r"(^|/)listens/\d{4}/\d{1,2}\.jsonl$")
rule = already_counted


def detect(source: Source) -> bool:
    if source.is_zip:
        return any(_LISTENS.search(n) for n in source.names())
    head = source.members[0].head(4096)
    return (
        head.lstrip().startswith((b"[", b"{"))
        and b'"listened_at"' in head
        and (b'"track_metadata"' in head)
    )


Titles = dict[str, tuple[str, str]]  # recording MBID: (title, artist), from the listens
Parse = Callable[[Numbering, str, int, Any, Titles], FileLine]


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    titles: Titles = {}
    if not source.is_zip:
        member = source.members[0]
        if member.head(64).lstrip().startswith(b"{"):
            yield from _json_lines(member, _listen, numbering, titles)
            return
        with member.open() as stream:
            row = 0
            try:
                for row, (item, _text) in enumerate(json_array(stream), start=1):
                    yield _listen(numbering, member.name, row, item, titles)
            except JsonError as exc:
                yield unreadable(numbering, member.name, row + 1, None, str(exc))
        return
    listens = sorted(
        (m for m in source.members if _LISTENS.search(m.name)),
        key=lambda m: [int(p) for p in re.findall(r"\d+", m.name)[-2:]],
    )
    for member in listens:
        yield from _json_lines(member, _listen, numbering, titles)
    for member in source.members:
        if basename(member.name) == "feedback.jsonl":
            yield from _json_lines(member, _feedback, numbering, titles)


def _json_lines(
    member: Member, parse: Parse, numbering: Numbering, titles: Titles
) -> Iterator[FileLine]:
    """A JSON Lines member's rows as `parse` reads them; a line that is not JSON is unreadable."""
    with member.open() as stream:
        for row, item, error in json_lines(stream):
            if error is not None:
                yield unreadable(numbering, member.name, row, item, error)
            else:
                yield parse(numbering, member.name, row, item, titles)


def _listen(numbering: Numbering, member: str, row: int, item: Any, titles: Titles) -> FileLine:
    if not isinstance(item, dict) or not isinstance(item.get("track_metadata"), dict):
        return unreadable(numbering, member, row, item, "needs 'listened_at' and 'track_metadata'")
    meta = item["track_metadata"]
    info = meta.get("additional_info") if isinstance(meta.get("additional_info"), dict) else {}
    mapping = meta.get("mbid_mapping") if isinstance(meta.get("mbid_mapping"), dict) else {}
    try:
        at = int(float(item["listened_at"]))
    except (KeyError, TypeError, ValueError):
        return unreadable(numbering, member, row, item, "needs 'listened_at' (Unix seconds)")
    fields: dict[str, Any] = {
        "type": "track",
        "title": meta.get("track_name"),
        "artist": meta.get("artist_name"),
        "album": text_or_none(meta.get("release_name")),
        "watched_at": at,
    }
    ids = {}
    if text_or_none(mapping.get("recording_mbid")):
        ids["mbid"] = mapping["recording_mbid"]
    if text_or_none(info.get("isrc")):
        ids["isrc"] = info["isrc"]
    if ids:
        fields["ids"] = ids
    duration = info.get("duration_ms")
    if duration is None and isinstance(info.get("duration"), int | float):
        duration = info["duration"] * 1000
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        fields["duration_ms"] = int(duration)
    line = event_line(numbering, member, row, item, fields)
    if line.event is not None and "mbid" in ids and len(titles) < TITLES_KEPT:
        titles[ids["mbid"]] = (line.event.title or "", line.event.artist or "")
    return line


def _feedback(numbering: Numbering, member: str, row: int, item: Any, titles: Titles) -> FileLine:
    if not isinstance(item, dict) or item.get("score") not in FEEDBACK_RATING:
        return unreadable(numbering, member, row, item, "needs 'score' 1 or -1")
    mbid = text_or_none(item.get("recording_mbid"))
    named = titles.get(mbid) if mbid else None
    if named is None:
        return skipped(
            numbering, member, row, item, "feedback on a recording with no listen in this export"
        )
    fields: dict[str, Any] = {
        "type": "track",
        "title": named[0],
        "artist": named[1],
        "ids": {"mbid": mbid},
        "rating": FEEDBACK_RATING[item["score"]],
    }
    if isinstance(item.get("created"), int | float):
        fields["watched_at"] = int(item["created"])
    return event_line(numbering, member, row, item, fields)
