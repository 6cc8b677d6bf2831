"""Simkl's backup (`SimklBackup.json`, or a zip holding it; api-notes file-formats.md §5): the
`/sync/all-items` shape, `movies[]`, `shows[]` and `anime[]`. A completed movie is one play at
`last_watched_at` (Simkl keeps no play-by-play history of movies); a show's or anime's episodes
are plays at their `watched_at`; `user_rating` is the movie's, show's or anime's rating, at its
own `user_rated_at`. Read as a stream: one entry in memory at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrobctl.sync.files.base import (
    FileLine,
    JsonError,
    Member,
    Numbering,
    Source,
    already_counted,
    clean_ids,
    event_line,
    iso_utc,
    json_object_arrays,
    skipped,
    unreadable,
)

NAME = "simkl"
LABEL = "Simkl backup"
RATING_SOURCE = "simkl"
rule = already_counted


def _looks(member: Member) -> bool:
    head = member.head(4096).lstrip()
    return head.startswith(b"{") and any(k in head for k in (b'"movies"', b'"shows"', b'"anime"'))


def _members(source: Source) -> list[Member]:
    return [m for m in source.members if m.name.lower().endswith(".json") and _looks(m)]


def detect(source: Source) -> bool:
    return bool(_members(source))


def lines(source: Source, numbering: Numbering, _state: Any = None) -> Iterator[FileLine]:
    for member in _members(source):
        with member.open() as stream:
            row = 0
            try:
                for key, entry in json_object_arrays(stream):
                    row += 1
                    if key == "movies":
                        yield from _movie(numbering, member.name, row, entry)
                    elif key in ("shows", "anime"):
                        yield from _show(numbering, member.name, row, entry)
            except JsonError as exc:
                yield unreadable(numbering, member.name, row + 1, None, str(exc))


def _rating(entry: dict[str, Any]) -> tuple[float | None, int | None]:
    rating = entry.get("user_rating")
    if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 10:
        at = entry.get("user_rated_at")
        return float(rating), iso_utc(at) if isinstance(at, str) else None
    return None, None


def _movie(numbering: Numbering, member: str, row: int, entry: Any) -> Iterator[FileLine]:
    """The play, and the rating as a line of its own: it has its own time."""
    if not isinstance(entry, dict) or not isinstance(entry.get("movie"), dict):
        yield unreadable(numbering, member, row, entry, "a movie entry needs 'movie'")
        return
    movie = entry["movie"]
    fields: dict[str, Any] = {
        "type": "movie",
        "title": movie.get("title"),
        "year": movie.get("year"),
        "ids": clean_ids(movie.get("ids")),
    }
    try:
        rating, rated_at = _rating(entry)
        watched = entry.get("last_watched_at")
        played = entry.get("status") == "completed" and isinstance(watched, str)
        at = iso_utc(watched) if played else None
    except ValueError:
        yield unreadable(numbering, member, row, entry, "a time is not ISO-8601")
        return
    if played:
        yield event_line(
            numbering, member, row, entry, {**fields, "watched_at": at, "percentage": 100.0}
        )
    elif rating is None:
        yield skipped(numbering, member, row, entry, f"not watched ({entry.get('status')})")
    if rating is not None:
        yield event_line(
            numbering, member, row, entry, {**fields, "rating": rating, "watched_at": rated_at}
        )


def _show(numbering: Numbering, member: str, row: int, entry: Any) -> Iterator[FileLine]:
    show = entry.get("show") if isinstance(entry, dict) else None
    if not isinstance(show, dict):
        yield unreadable(numbering, member, row, entry, "a show entry needs 'show'")
        return
    ref = {"title": show.get("title"), "year": show.get("year"), "ids": clean_ids(show.get("ids"))}
    watched = 0
    for season in entry.get("seasons") or []:
        if not isinstance(season, dict):
            continue
        for episode in season.get("episodes") or []:
            if not isinstance(episode, dict) or not episode.get("watched_at"):
                continue
            watched += 1
            raw = {"show": show, "season": season.get("number"), "episode": episode}
            try:
                at = iso_utc(episode["watched_at"])
            except (TypeError, ValueError):
                yield unreadable(numbering, member, row, raw, "'watched_at' is not ISO-8601")
                continue
            fields = {
                "type": "episode",
                "show": ref,
                "season": season.get("number"),
                "number": episode.get("number"),
                "watched_at": at,
                "percentage": 100.0,
            }
            yield event_line(numbering, member, row, raw, fields)
    try:
        rating, rated_at = _rating(entry)
    except ValueError:
        yield unreadable(numbering, member, row, entry, "'user_rated_at' is not ISO-8601")
        return
    if rating is not None:
        # A whole show (or anime) rated, as the API's all-items gives it (sync/readers/simkl.py).
        raw = {"show": show, "user_rating": entry["user_rating"]}
        yield event_line(
            numbering,
            member,
            row,
            raw,
            {"type": "show", **ref, "rating": rating, "watched_at": rated_at},
        )
    elif not watched:
        yield skipped(numbering, member, row, entry, f"no watched episodes ({entry.get('status')})")
