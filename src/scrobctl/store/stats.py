"""Aggregates over the archive for `scrobctl stats`, as a few SQL queries.

Reading a million plays costs about half a second however it is asked, so the whole-archive
figures come from running totals: one row per item (`stat_items`) and per target
(`stat_targets`), brought up to date from the plays and scrobbles added since the last look
(`stat_marks` holds the highest id counted; ids only grow, and `forget_play` takes a removed play
back out and lowers the marks). A `--since` range is counted from `idx_plays_time_stats` (time,
item, played, length: a covering index), so its cost grows with the plays in the range; the
chart's weeks likewise.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from scrobctl.store.db import transaction

MUSIC = ("track", "podcast")
VIDEO = ("movie", "episode")
WEEK = 7 * 86_400
MONDAY = 3 * 86_400  # the Unix epoch was a Thursday: shifted so that weeks start on Monday


@dataclass(frozen=True)
class Count:
    name: str
    plays: int


@dataclass(frozen=True)
class Week:
    start: int  # Monday 00:00 in the zone the offset describes, as Unix seconds
    plays: int


@dataclass(frozen=True)
class TargetShare:
    service: str
    plays: int  # plays in the archive it has
    of: int  # plays in the archive of the types it takes


@dataclass
class ArchiveStats:
    plays: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    listening_ms: int = 0
    watching_ms: int = 0
    weeks: list[Week] = field(default_factory=list)
    artists: list[Count] = field(default_factory=list)
    tracks: list[Count] = field(default_factory=list)
    albums: list[Count] = field(default_factory=list)
    shows: list[Count] = field(default_factory=list)
    movies: list[Count] = field(default_factory=list)
    targets: list[TargetShare] = field(default_factory=list)


def _kinds(kind: str | None) -> tuple[str, ...]:
    return (kind,) if kind else (*MUSIC, *VIDEO)


def marks_for(kind: str | None) -> str:
    return ",".join("?" * len(_kinds(kind)))


def refresh(conn: sqlite3.Connection) -> None:
    """Add the plays and scrobbles written since the last refresh to the running totals."""
    with transaction(conn):
        plays_mark, scrobbles_mark = _marks(conn)
        top = conn.execute("SELECT coalesce(max(id), 0) FROM plays").fetchone()[0]
        if top > plays_mark:
            conn.execute(
                "INSERT INTO stat_items (item_id, plays, ms, unknown)"
                " SELECT item_id, count(*), coalesce(sum(coalesce(played_ms, duration_ms)), 0),"
                " sum(played_ms IS NULL AND duration_ms IS NULL) FROM plays WHERE id > ?"
                " GROUP BY item_id ON CONFLICT (item_id) DO UPDATE SET"
                " plays = plays + excluded.plays, ms = ms + excluded.ms,"
                " unknown = unknown + excluded.unknown",
                (plays_mark,),
            )
            _set_mark(conn, "plays", top)
        top = conn.execute("SELECT coalesce(max(id), 0) FROM scrobbles").fetchone()[0]
        if top > scrobbles_mark:
            conn.execute(
                "INSERT INTO stat_targets (service, kind, plays) SELECT s.service, i.kind,"
                " count(*) FROM scrobbles s JOIN items i ON i.id = s.item_id WHERE s.id > ?"
                " GROUP BY s.service, i.kind ON CONFLICT (service, kind)"
                " DO UPDATE SET plays = plays + excluded.plays",
                (scrobbles_mark,),
            )
            _set_mark(conn, "scrobbles", top)


def _marks(conn: sqlite3.Connection) -> tuple[int, int]:
    marks = dict(conn.execute("SELECT name, value FROM stat_marks").fetchall())
    return marks.get("plays", 0), marks.get("scrobbles", 0)


def _set_mark(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute(
        "INSERT INTO stat_marks (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def forget_play(conn: sqlite3.Connection, play_id: int) -> None:
    """Before a play is deleted (in the caller's transaction): take it out of the totals if
    they counted it. Call `lower_marks` after the deletion."""
    if play_id <= _marks(conn)[0]:
        conn.execute(
            "UPDATE stat_items SET plays = plays - 1,"
            " ms = ms - coalesce((SELECT coalesce(played_ms, duration_ms) FROM plays"
            "  WHERE id = :play), 0),"
            " unknown = unknown - (SELECT played_ms IS NULL AND duration_ms IS NULL FROM plays"
            "  WHERE id = :play)"
            " WHERE item_id = (SELECT item_id FROM plays WHERE id = :play)",
            {"play": play_id},
        )


def forget_scrobble(conn: sqlite3.Connection, scrobble_id: int) -> None:
    """Before a scrobbles row is deleted: as `forget_play`, for what the target has."""
    if scrobble_id <= _marks(conn)[1]:
        conn.execute(
            "UPDATE stat_targets SET plays = plays - 1 WHERE (service, kind) ="
            " (SELECT s.service, i.kind FROM scrobbles s JOIN items i ON i.id = s.item_id"
            "  WHERE s.id = ?)",
            (scrobble_id,),
        )


def lower_marks(conn: sqlite3.Connection) -> None:
    """After deleting: an id above what is left may be handed out again (max + 1), and the new
    row must then be counted, so no mark may stay above the highest id still there."""
    plays_mark, scrobbles_mark = _marks(conn)
    for name, mark, table in (
        ("plays", plays_mark, "plays"),
        ("scrobbles", scrobbles_mark, "scrobbles"),
    ):
        top = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        if mark > top:
            _set_mark(conn, name, top)


def archive_stats(
    conn: sqlite3.Connection,
    *,
    since: int | None,
    kind: str | None,
    week_from: int,
    utc_offset: int,
    target_media: dict[str, frozenset[str]],
    top: int = 10,
) -> ArchiveStats:
    """Everything `stats` shows. `week_from`: the first week of the chart; `utc_offset`: the
    local zone's offset in seconds, so weeks start at local midnight."""
    stats = ArchiveStats()
    refresh(conn)
    source = "stat_items"
    if since is not None:
        source = "stat_range"
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS stat_range"
            " (item_id INTEGER PRIMARY KEY, plays INTEGER, ms INTEGER, unknown INTEGER)"
        )
        conn.execute("DELETE FROM stat_range")
        conn.execute(
            "INSERT INTO stat_range SELECT item_id, count(*),"
            " coalesce(sum(coalesce(played_ms, duration_ms)), 0),"
            " sum(played_ms IS NULL AND duration_ms IS NULL)"
            " FROM plays INDEXED BY idx_plays_time_stats WHERE watched_at >= ? GROUP BY item_id",
            (since,),
        )
    kinds = _kinds(kind)
    marks = ",".join("?" * len(kinds))
    rows = conn.execute(
        "SELECT i.kind, sum(s.plays), sum(s.ms + s.unknown * coalesce(i.duration_ms, 0))"
        f" FROM {source} s JOIN items i ON i.id = s.item_id WHERE i.kind IN ({marks})"
        " GROUP BY i.kind",
        kinds,
    )
    for name, plays, ms in rows:
        if not plays:
            continue
        stats.by_kind[name] = plays
        stats.plays += plays
        if name in MUSIC:
            stats.listening_ms += ms or 0
        else:
            stats.watching_ms += ms or 0
    stats.weeks = _weeks(conn, max(since or 0, week_from), kind, utc_offset)
    if kind in (None, "track"):
        stats.artists = _top(conn, source, "i.artist", "lower(i.artist)", "i.kind = 'track'", top)
        stats.tracks = _top(
            conn, source, "i.artist || ' - ' || i.title", "i.id", "i.kind = 'track'", top
        )
        stats.albums = _top(
            conn,
            source,
            "i.artist || ' - ' || i.album",
            "lower(i.artist), lower(i.album)",
            "i.kind = 'track' AND i.album IS NOT NULL AND i.album != ''",
            top,
        )
    if kind in (None, "episode"):
        stats.shows = _top(
            conn,
            source,
            "coalesce(sh.title, '?')",
            "i.show_id",
            "i.kind = 'episode'",
            top,
            "LEFT JOIN items sh ON sh.id = i.show_id",
        )
    if kind in (None, "movie"):
        stats.movies = _top(
            conn,
            source,
            "coalesce(i.title, '?') || coalesce(' (' || i.year || ')', '')",
            "i.id",
            "i.kind = 'movie'",
            top,
        )
    stats.targets = _targets(conn, since, kind, stats.by_kind, target_media)
    return stats


def _top(
    conn: sqlite3.Connection,
    source: str,
    name: str,
    group: str,
    where: str,
    top: int,
    join: str = "",
) -> list[Count]:
    rows = conn.execute(
        f"SELECT {name} AS name, sum(s.plays) AS plays FROM {source} s"
        f" JOIN items i ON i.id = s.item_id {join} WHERE {where} AND s.plays > 0"
        f" GROUP BY {group} ORDER BY plays DESC, name LIMIT ?",
        (top,),
    )
    return [Count(r[0] or "?", r[1]) for r in rows]


def _weeks(conn: sqlite3.Connection, start: int, kind: str | None, offset: int) -> list[Week]:
    week = f"((watched_at + {int(offset)} + {MONDAY}) / {WEEK})"
    if kind is None:
        rows = conn.execute(
            f"SELECT {week} AS w, count(*) FROM plays INDEXED BY idx_plays_time_stats"
            " WHERE watched_at >= ? GROUP BY w ORDER BY w",
            (start,),
        )
    else:
        rows = conn.execute(
            f"SELECT {week} AS w, count(*) FROM plays p JOIN items i ON i.id = p.item_id"
            " WHERE p.watched_at >= ? AND i.kind = ? GROUP BY w ORDER BY w",
            (start, kind),
        )
    counted = dict(rows.fetchall())
    if not counted:
        return []
    first = (start + offset + MONDAY) // WEEK
    last = max(counted)
    return [Week(w * WEEK - MONDAY - offset, counted.get(w, 0)) for w in range(first, last + 1)]


def _targets(
    conn: sqlite3.Connection,
    since: int | None,
    kind: str | None,
    by_kind: dict[str, int],
    target_media: dict[str, frozenset[str]],
) -> list[TargetShare]:
    start = since or 0
    if since is None:
        rows = conn.execute(
            f"SELECT service, sum(plays) FROM stat_targets WHERE kind IN ({marks_for(kind)})"
            " GROUP BY service HAVING sum(plays) > 0",
            _kinds(kind),
        )
    elif kind is None:
        rows = conn.execute(
            "SELECT service, count(*) FROM scrobbles INDEXED BY idx_scrobbles_time"
            " WHERE scrobbled_at >= ? GROUP BY service",
            (start,),
        )
    else:
        rows = conn.execute(
            "SELECT s.service, count(*) FROM scrobbles s JOIN items i ON i.id = s.item_id"
            " WHERE s.scrobbled_at >= ? AND i.kind = ? GROUP BY s.service",
            (start, kind),
        )
    held = dict(rows.fetchall())
    shares = []
    for service in sorted(set(held) | set(target_media)):
        media = target_media.get(service, frozenset(by_kind))
        of = sum(n for k, n in by_kind.items() if k in media)
        shares.append(TargetShare(service, held.get(service, 0), of))
    return shares
