"""IMDb's ratings CSV (and list exports with `Your Rating`; api-notes file-formats.md §5). Rows
are matched by `Const` (the tt id), never by title. `Title Type` is read in both spellings: the
mid-2024 one (`Movie`, `TV Episode`...) and the older one (`movie`, `tvEpisode`...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrobctl.sync.files.base import (
    FileLine,
    Numbering,
    Source,
    csv_rows,
    date_noon,
    event_line,
    skipped,
    unreadable,
)

NAME = "imdb"
LABEL = "IMDb ratings CSV"
RATING_SOURCE = "imdb"
MOVIE = {
    "movie",
    "tv movie",
    "tvmovie",
    "video",
    "short",
    "tv short",
    "tvshort",
    "tv special",
    "tvspecial",
    "videogame",
}
EPISODE = {"tv episode", "tvepisode"}
SHOW = {"tv series", "tvseries", "tv mini series", "tvminiseries"}


def detect(source: Source) -> bool:
    if source.is_zip:
        return False
    first = source.members[0].head(2048).decode("utf-8-sig", "replace").splitlines()[:1]
    columns = set(first[0].split(",")) if first else set()
    return {"Const", "Your Rating", "Title Type"} <= columns


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    member = source.members[0]
    with member.open() as stream:
        rows = csv_rows(stream)
        header = next(rows, None) or []
        for number, values in enumerate(rows, start=2):
            if any(v.strip() for v in values):
                yield _line(numbering, member.name, number, dict(zip(header, values, strict=False)))


def _line(numbering: Numbering, member: str, number: int, row: dict[str, str]) -> FileLine:
    const = (row.get("Const") or "").strip()
    kind = (row.get("Title Type") or "").strip().casefold()
    rating = (row.get("Your Rating") or "").strip()
    if not const.startswith("tt"):
        return unreadable(numbering, member, number, row, "needs a 'Const' (tt...)")
    if not rating:
        return skipped(numbering, member, number, row, "not rated")
    if kind not in MOVIE | EPISODE | SHOW:
        return skipped(numbering, member, number, row, f"title type {row.get('Title Type')!r}")
    # A series (or mini series) is a show, rated as a whole; IMDb gives it its own tt id.
    media = "episode" if kind in EPISODE else "show" if kind in SHOW else "movie"
    fields: dict[str, Any] = {
        "type": media,
        "title": (row.get("Title") or "").strip() or None,
        "ids": {"imdb": const},
    }
    year = (row.get("Year") or "").strip()[:4]
    if media != "episode" and year.isdigit():
        fields["year"] = int(year)  # a range ("2013", en dash, "2023") gives its first year
    try:
        fields["rating"] = float(int(rating))
        if (row.get("Date Rated") or "").strip():
            fields["watched_at"] = date_noon(row["Date Rated"])
    except ValueError:
        return unreadable(
            numbering, member, number, row, "needs 'Your Rating' 1-10, 'Date Rated' YYYY-MM-DD"
        )
    return event_line(numbering, member, number, row, fields)
