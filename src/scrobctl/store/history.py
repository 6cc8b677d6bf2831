"""The `scrobbles` table: which plays each service is known to have (sent by us, or imported)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scrobctl.store.db import Store


def source_filter(source: str) -> tuple[str, list[object]]:
    """The clause on `plays p`, and its values, for plays from `source`: `file:spotify` exactly,
    or a name without a colon (`file`) for every source of that kind (`history` and `sync`)."""
    if ":" in source:
        return "p.source = ?", [source]
    escaped = source.replace("%", "\\%").replace("_", "\\_")
    return "(p.source = ? OR p.source LIKE ? ESCAPE '\\')", [source, escaped + ":%"]


# The shortest media that counts as a play (DESIGN.md thresholds), for items of unknown length.
MIN_LENGTH_MS = {"track": 30_000, "podcast": 300_000, "movie": 600_000, "episode": 600_000}


def half_length_window(length_ms: int | None, kind: str) -> int:
    """Seconds either side of a start time within which another play is the same play: half
    the item's length (or of the shortest length that counts, when unknown). Playing it again
    cannot start sooner."""
    length = length_ms or MIN_LENGTH_MS.get(kind, 2000)
    return max(1, length // 2000)


def service_has_play(
    conn: sqlite3.Connection,
    profile: str,
    service: str,
    item_id: int,
    started: int,
    window: int,
) -> bool:
    row = conn.execute(
        "SELECT 1 FROM scrobbles WHERE profile = ? AND service = ? AND item_id = ?"
        " AND scrobbled_at > ? AND scrobbled_at < ? LIMIT 1",
        (profile, service, item_id, started - window, started + window),
    ).fetchone()
    return row is not None


@dataclass(slots=True)
class HistoryRow:
    id: int  # the play's id: what `explain` and `unscrobble` take
    watched_at: int
    profile: str
    kind: str
    title: str | None
    artist: str | None
    album: str | None
    show: str | None
    season: int | None
    number: int | None
    ids: dict[str, Any]
    services: list[str]
    source: str | None = None


ID_COLUMNS = ("tmdb", "imdb", "tvdb", "trakt", "simkl", "mbid", "isrc")


def list_plays(
    store: Store,
    *,
    kind: str | None = None,
    service: str | None = None,
    since: int | None = None,
    profile: str | None = None,
    limit: int | None = 50,
    source: str | None = None,
) -> Iterator[HistoryRow]:
    """Plays newest first, with the services known to have each (a generator: flat memory).
    `source` is where plays came from: `stdin`, `import:trakt`, `file:spotify`...; a name
    without a colon takes every source of that kind (`file`: every export file)."""
    clauses, args = [], []
    if source:
        clause, values = source_filter(source)
        clauses.append(clause)
        args.extend(values)
    if kind:
        clauses.append("i.kind = ?")
        args.append(kind)
    if since is not None:
        clauses.append("p.watched_at >= ?")
        args.append(since)
    if profile:
        clauses.append("p.profile = ?")
        args.append(profile)
    if service:
        clauses.append(
            "EXISTS (SELECT 1 FROM scrobbles s WHERE s.profile = p.profile AND s.service = ?"
            " AND s.item_id = p.item_id AND s.scrobbled_at = p.watched_at)"
        )
        args.append(service)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    sql = (
        # HistoryRow's fields in its order: its first ten, the ids, the targets, the source.
        "SELECT p.id, p.watched_at, p.profile, i.kind, i.title, i.artist, i.album, sh.title,"
        " i.season, i.number, i.tmdb, i.imdb, i.tvdb, i.trakt, i.simkl, i.mbid, i.isrc,"
        # The targets that have the play, in the same query (idx_scrobbles_play covers it).
        " (SELECT group_concat(s.service, char(31)) FROM scrobbles s WHERE s.profile = p.profile"
        " AND s.item_id = p.item_id AND s.scrobbled_at = p.watched_at), p.source"
        " FROM plays p JOIN items i ON i.id = p.item_id LEFT JOIN items sh ON sh.id = i.show_id"
        f"{where} ORDER BY p.watched_at DESC, p.id DESC"
    )
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    cursor = store.conn.cursor()
    cursor.row_factory = None  # plain tuples: a third of the rows' cost (issue #25)
    for row in cursor.execute(sql, args):
        # Positional: half the cost of keywords, once a row (issue #25).
        ids = {k: v for k, v in zip(ID_COLUMNS, row[10:17], strict=True) if v is not None}
        yield HistoryRow(*row[:10], ids, _services(row[17]), row[18])


def _services(joined: str | None) -> list[str]:
    """The targets group_concat joined (by char 31), sorted; most plays have one."""
    if not joined:
        return []
    if "\x1f" not in joined:
        return [joined]
    return sorted(set(joined.split("\x1f")))
