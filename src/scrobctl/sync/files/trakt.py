"""Trakt's data export zip (api-notes file-formats.md §5): `watched-history-<n>.json` pages of
history items shaped as the API's (`watched_at` ISO UTC, `movie` or `episode` + `show` with
their ids) and `ratings-{movies,episodes,shows,seasons}.json` (a show or season is rated, never
played). Other files (watched-movies,
lists, collection...) are not history and are left alone; CrossWatch does the same to avoid
counting watches twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from scrobctl.sync.files.base import (
    FileLine,
    JsonError,
    Numbering,
    Source,
    already_counted,
    basename,
    clean_ids,
    event_line,
    iso_utc,
    json_array,
    unreadable,
)

NAME = "trakt"
LABEL = "Trakt export"
RATING_SOURCE = "trakt"
_HISTORY = re.compile(r"^watched-history(-\d+)?\.json$")
_RATINGS = re.compile(r"^ratings-(movies|episodes|shows|seasons)\.json$")
rule = already_counted


def _wanted(name: str) -> bool:
    base = basename(name)
    return bool(_HISTORY.match(base) or _RATINGS.match(base))


def detect(source: Source) -> bool:
    if source.is_zip:
        return any(_wanted(n) for n in source.names())
    head = source.members[0].head(4096)
    return head.lstrip().startswith(b"[") and (
        (b'"watched_at"' in head and b'"action"' in head) or b'"rated_at"' in head
    )


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    members = [m for m in source.members if not source.is_zip or _wanted(m.name)]
    members.sort(key=lambda m: (not _HISTORY.match(basename(m.name)), _page(m.name)))
    for member in members:
        with member.open() as stream:
            row = 0
            try:
                for row, (item, _text) in enumerate(json_array(stream), start=1):
                    yield _line(numbering, member.name, row, item)
            except JsonError as exc:
                yield unreadable(numbering, member.name, row + 1, None, str(exc))


def _page(name: str) -> int:
    digits = re.findall(r"\d+", basename(name))
    return int(digits[-1]) if digits else 0


def _show(show: Any) -> dict[str, Any]:
    show = show if isinstance(show, dict) else {}
    return {"title": show.get("title"), "year": show.get("year"), "ids": clean_ids(show.get("ids"))}


def _fields(item: dict[str, Any]) -> dict[str, Any] | None:
    kind = item.get("type")
    if kind == "show" and isinstance(item.get("show"), dict):
        show = _show(item["show"])
        return {"type": "show", "title": show["title"], "year": show["year"], "ids": show["ids"]}
    if kind == "season" and isinstance(item.get("season"), dict):
        # ratings-seasons.json: the season (its number and ids) and its show, as the API's
        # /sync/ratings/seasons entries are.
        season = item["season"]
        return {
            "type": "season",
            "season": season.get("number"),
            "ids": clean_ids(season.get("ids")),
            "show": _show(item.get("show")),
        }
    if kind == "movie" and isinstance(item.get("movie"), dict):
        movie = item["movie"]
        return {
            "type": "movie",
            "title": movie.get("title"),
            "year": movie.get("year"),
            "ids": clean_ids(movie.get("ids")),
        }
    if kind == "episode" and isinstance(item.get("episode"), dict):
        episode, show = item["episode"], item.get("show") or {}
        return {
            "type": "episode",
            "title": episode.get("title"),
            "season": episode.get("season"),
            "number": episode.get("number"),
            "ids": clean_ids(episode.get("ids")),
            "show": _show(show),
        }
    return None


def _line(numbering: Numbering, member: str, row: int, item: Any) -> FileLine:
    if not isinstance(item, dict):
        return unreadable(numbering, member, row, item, "a row must be a JSON object")
    fields = _fields(item)
    if fields is None:
        return unreadable(
            numbering,
            member,
            row,
            item,
            "needs 'type' movie, episode, show or season and its object",
        )
    try:
        if fields["type"] in ("show", "season") or ("rating" in item and "watched_at" not in item):
            fields["rating"] = item["rating"]
            fields["watched_at"] = iso_utc(item["rated_at"]) if item.get("rated_at") else None
        else:
            fields["watched_at"] = iso_utc(item["watched_at"])
            fields["percentage"] = 100.0
    except (KeyError, TypeError, ValueError):
        return unreadable(
            numbering, member, row, item, "needs 'watched_at' (or 'rating', 'rated_at')"
        )
    return event_line(numbering, member, row, item, fields)
