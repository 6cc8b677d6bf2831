"""Letterboxd's export zip (api-notes file-formats.md §4): `diary.csv` (each row a watch on its
`Watched Date`, rewatches included, with a rating 0.5-5 that is 1-10 here), `watched.csv` rows
of films not in the diary (a watch on the day it was marked), and `ratings.csv` (the current
rating of each film, read last so that it wins). Dates have no time: 12:00 UTC is taken.

The export has no ids; films get theirs from TMDb's search by title and year
(`tmdb_match.py`). A film without a certain match goes to the report with its candidates; set
`"tmdb"` on its line and import the report to settle it (`report.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scrobctl.sync.files.base import (
    FileLine,
    Member,
    Numbering,
    Source,
    already_counted,
    basename,
    csv_rows,
    date_noon,
    event_line,
    skipped,
    unreadable,
)
from scrobctl.sync.files.tmdb_match import Match

NAME = "letterboxd"
LABEL = "Letterboxd export"
RATING_SOURCE = "letterboxd"
NEEDS_TMDB = True
FILES = ("diary.csv", "watched.csv", "ratings.csv")  # in the order they are read
DIARY_HEADER = {"Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Watched Date"}
rule = already_counted  # a logged watch is a watch


@dataclass
class State:
    matches: dict[Any, Match] = field(default_factory=dict)
    source: str = NAME


def _members(source: Source) -> dict[str, Member]:
    """The top-level CSVs (not `deleted/diary.csv` and the like)."""
    found = {}
    for member in source.members:
        if member.name in FILES or (not source.is_zip and basename(member.name) in FILES):
            found[basename(member.name)] = member
    if not source.is_zip and not found and _is_diary(source.members[0]):
        found["diary.csv"] = source.members[0]
    return found


def _is_diary(member: Member) -> bool:
    first = member.head(1024).decode("utf-8-sig", "replace").splitlines()[:1]
    return bool(first) and set(first[0].split(",")) >= DIARY_HEADER


def detect(source: Source) -> bool:
    if source.is_zip:
        names = set(source.names())
        return "diary.csv" in names or ("watched.csv" in names and "ratings.csv" in names)
    return _is_diary(source.members[0])


def _dicts(member: Member) -> Iterator[tuple[int, dict[str, str]]]:
    with member.open() as stream:
        rows = csv_rows(stream)
        header = next(rows, None) or []
        for number, values in enumerate(rows, start=2):
            if any(v.strip() for v in values):
                yield number, dict(zip(header, values, strict=False))


def film(row: dict[str, str]) -> tuple[str, int | None]:
    year = (row.get("Year") or "").strip()
    return (row.get("Name") or "").strip(), int(year) if year.isdigit() else None


async def prepare(source: Source, context: Any) -> State:
    """Find every film's TMDb id first (each distinct title and year once)."""
    films = []
    for member in _members(source).values():
        films.extend(film(row) for _, row in _dicts(member) if film(row)[0])
    return State(await context.tmdb.match_all(films))


def lines(source: Source, numbering: Numbering, state: State) -> Iterator[FileLine]:
    members = _members(source)
    in_diary: set[tuple[str, int | None]] = set()
    for name in FILES:
        member = members.get(name)
        if member is None:
            continue
        for number, row in _dicts(member):
            key = film(row)
            if name == "diary.csv":
                in_diary.add(key)
            elif name == "watched.csv" and key in in_diary:
                continue  # the diary has this film's watches, with their dates
            match = state.matches.get(key)
            if match is None or match.tmdb is None:
                reason = match.reason if match is not None else "no TMDb match"
                candidates = match.candidates if match is not None else []
                yield skipped(
                    numbering, member.name, number, row, reason, candidates=candidates, tmdb=None
                )
                continue
            yield row_line(numbering, member.name, number, row, match.tmdb)


def row_line(
    numbering: Numbering, member: str, number: int, row: dict[str, Any], tmdb: int
) -> FileLine:
    """The event of one row of diary.csv, watched.csv or ratings.csv, its film being `tmdb`."""
    name, year = film(row)
    fields: dict[str, Any] = {"type": "movie", "title": name, "ids": {"tmdb": tmdb}}
    if year is not None:
        fields["year"] = year
    kind = basename(member)
    try:
        when = date_noon(row.get("Watched Date") or row["Date"])
        rating = (row.get("Rating") or "").strip()
        if rating:
            fields["rating"] = float(rating) * 2
    except (KeyError, ValueError):
        return unreadable(
            numbering, member, number, row, "needs a date (YYYY-MM-DD) and a rating 0.5-5"
        )
    fields["watched_at"] = when
    if kind != "ratings.csv":
        fields["percentage"] = 100.0
    elif "rating" not in fields:
        return skipped(numbering, member, number, row, "no rating")
    return event_line(numbering, member, number, row, fields)
