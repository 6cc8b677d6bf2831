"""scrobctl's own import report, imported again: the lines a user settled (a Letterboxd film
given its `"tmdb"` id) become plays and ratings; the others are reported again as they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scrobctl.sync.files import letterboxd
from scrobctl.sync.files.base import (
    FileLine,
    Numbering,
    Source,
    already_counted,
    json_lines,
    skipped,
    unreadable,
)

NAME = "report"
LABEL = "scrobctl import report"
RATING_SOURCE = "letterboxd"
KEYS = {"file", "format", "outcome", "reason"}
rule = already_counted


@dataclass
class State:
    source: str = "letterboxd"


def detect(source: Source) -> bool:
    if source.is_zip:
        return False
    first = source.members[0].head(1 << 16).split(b"\n", 1)[0]
    try:
        entry = json.loads(first)
    except ValueError:
        return False
    return isinstance(entry, dict) and entry.keys() >= KEYS


async def prepare(source: Source, context: Any) -> State:
    return State()


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    member = source.members[0]
    with member.open() as stream:
        for number, entry, error in json_lines(stream):
            if error is not None or not isinstance(entry, dict):
                yield unreadable(numbering, member.name, number, entry, error or "not an object")
                continue
            yield _settled(numbering, member.name, number, entry)


def _settled(numbering: Numbering, member: str, number: int, entry: dict[str, Any]) -> FileLine:
    row = entry.get("data")
    tmdb = entry.get("tmdb")
    # Kept as the original row's, so that this line can be settled in the next report too.
    extra = {
        k: entry[k] for k in ("file", "format", "member", "row", "candidates", "tmdb") if k in entry
    }
    if entry.get("format") == "letterboxd" and isinstance(row, dict):
        if isinstance(tmdb, int) and not isinstance(tmdb, bool) and tmdb > 0:
            origin = str(entry.get("member") or "diary.csv")
            line = letterboxd.row_line(numbering, origin, int(entry.get("row") or 0), row, tmdb)
            return line
        if "candidates" in entry:
            return skipped(numbering, member, number, row, str(entry.get("reason")), **extra)
    return skipped(
        numbering, member, number, row, f"left as reported: {entry.get('reason')}", **extra
    )
