"""Aggregates over the archive for `scrobctl stats`, as a few SQL queries.

Reading a million plays costs about half a second however it is asked, and grouping every item
(50,000 at a million plays) a good part of that, so the whole-archive figures come from running
totals: one `stat_tops` row per artist, track, album, show, movie and media type, and one
`stat_targets` row per (target, type), brought up to date from the plays and scrobbles added
since the last look (`stat_marks` holds the highest id counted; ids only grow, and
`forget_play` takes a removed play back out and lowers the marks). `idx_stat_tops_rank` holds
each list in rank order, so a top list reads its first rows. A `--since` range is counted from
`idx_plays_time_stats` (time, item, played, length: a covering index), so its cost grows with
the plays in the range; the chart's weeks likewise.
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


@dataclass(frozen=True)
class Ranking:
    """A top list: the name it shows, what makes one entry of it (as a value: `quote` keeps
    NULL apart from 'NULL'), which items count, and the media type it belongs to. A group is
    named as its first item (the lowest id: the spelling recorded first) names it; SQLite
    takes a bare column from the row of the query's one `min()`."""

    field: str  # the ArchiveStats list, and its rows' `list` in stat_tops
    label: str
    key: str
    where: str
    kind: str
    join: str = ""


RANKINGS = (
    Ranking("artists", "i.artist", "quote(lower(i.artist))", "i.kind = 'track'", "track"),
    Ranking("tracks", "i.artist || ' - ' || i.title", "i.id", "i.kind = 'track'", "track"),
    Ranking(
        "albums",
        "i.artist || ' - ' || i.album",
        "quote(lower(i.artist)) || ',' || quote(lower(i.album))",
        "i.kind = 'track' AND i.album IS NOT NULL AND i.album != ''",
        "track",
    ),
    Ranking(
        "shows",
        "coalesce(sh.title, '?')",
        "quote(i.show_id)",
        "i.kind = 'episode'",
        "episode",
        "LEFT JOIN items sh ON sh.id = i.show_id",
    ),
    Ranking(
        "movies",
        "coalesce(i.title, '?') || coalesce(' (' || i.year || ')', '')",
        "i.id",
        "i.kind = 'movie'",
        "movie",
    ),
)
KINDS_LIST = "kinds"  # stat_tops rows per media type: plays and time
# Time of a play: what it was played for, else its length, else the item's (`unknown` counts
# the plays that had neither).
PLAY_MS = "coalesce(played_ms, duration_ms)"
UNKNOWN_MS = "(played_ms IS NULL AND duration_ms IS NULL)"


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
            _per_item(
                conn,
                "stat_delta",
                f"SELECT item_id, count(*), coalesce(sum({PLAY_MS}), 0), sum({UNKNOWN_MS})"
                " FROM plays WHERE id > ? GROUP BY item_id",
                (plays_mark,),
            )
            _add_to_tops(conn)
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


def _per_item(conn: sqlite3.Connection, table: str, query: str, args: tuple[object, ...]) -> None:
    """A temporary table of (item, plays, ms, unknown) filled by `query`."""
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {table}"
        " (item_id INTEGER PRIMARY KEY, plays INTEGER, ms INTEGER, unknown INTEGER)"
    )
    conn.execute(f"DELETE FROM {table}")
    conn.execute(f"INSERT INTO {table} {query}", args)


def _add_to_tops(conn: sqlite3.Connection) -> None:
    """Add `stat_delta`'s plays (negative to take some out) to every list they count in."""
    for r in RANKINGS:
        conn.execute(
            "INSERT INTO stat_tops (list, key, name, plays, ms, first)"
            f" SELECT ?, {r.key}, {r.label}, sum(s.plays), 0, min(i.id) FROM stat_delta s"
            f" JOIN items i ON i.id = s.item_id {r.join} WHERE {r.where} GROUP BY 2"
            " ON CONFLICT (list, key) DO UPDATE SET plays = plays + excluded.plays,"
            " name = iif(excluded.first < first, excluded.name, name),"
            " first = min(first, excluded.first)",
            (r.field,),
        )
    conn.execute(
        "INSERT INTO stat_tops (list, key, name, plays, ms, first)"
        " SELECT ?, i.kind, NULL, sum(s.plays),"
        " sum(s.ms + s.unknown * coalesce(i.duration_ms, 0)), min(i.id)"
        " FROM stat_delta s JOIN items i ON i.id = s.item_id GROUP BY 2"
        " ON CONFLICT (list, key) DO UPDATE SET plays = plays + excluded.plays,"
        " ms = ms + excluded.ms",
        (KINDS_LIST,),
    )


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
        _per_item(
            conn,
            "stat_delta",
            f"SELECT item_id, -1, -coalesce({PLAY_MS}, 0), -{UNKNOWN_MS} FROM plays WHERE id = ?",
            (play_id,),
        )
        _add_to_tops(conn)


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
    kinds = _kinds(kind)
    marks = ",".join("?" * len(kinds))
    if since is None:
        rows = conn.execute(
            f"SELECT key, plays, ms FROM stat_tops WHERE list = ? AND key IN ({marks})"
            " ORDER BY key",
            (KINDS_LIST, *kinds),
        )
    else:
        _per_item(
            conn,
            "stat_range",
            f"SELECT item_id, count(*), coalesce(sum({PLAY_MS}), 0), sum({UNKNOWN_MS})"
            " FROM plays INDEXED BY idx_plays_time_stats WHERE watched_at >= ? GROUP BY item_id",
            (since,),
        )
        # CROSS JOIN: the range's items lead (without statistics the planner scanned every
        # item for one media type, and joined the range to each).
        rows = conn.execute(
            "SELECT i.kind, sum(s.plays), sum(s.ms + s.unknown * coalesce(i.duration_ms, 0))"
            f" FROM stat_range s CROSS JOIN items i ON i.id = s.item_id WHERE i.kind IN ({marks})"
            " GROUP BY i.kind",
            kinds,
        )
    for name, plays, ms in rows.fetchall():
        if not plays:
            continue
        stats.by_kind[name] = plays
        stats.plays += plays
        if name in MUSIC:
            stats.listening_ms += ms or 0
        else:
            stats.watching_ms += ms or 0
    stats.weeks = _weeks(conn, max(since or 0, week_from), kind, utc_offset)
    for ranking in RANKINGS:
        if kind in (None, ranking.kind):
            setattr(stats, ranking.field, _top(conn, ranking, since is not None, top))
    stats.targets = _targets(conn, since, kind, stats.by_kind, target_media)
    return stats


def _top(conn: sqlite3.Connection, ranking: Ranking, in_range: bool, top: int) -> list[Count]:
    """The first `top` of a list: from its running totals in rank order, or for a range by
    grouping the range's items."""
    if not in_range:
        rows = conn.execute(
            "SELECT name, plays FROM stat_tops INDEXED BY idx_stat_tops_rank"
            " WHERE list = ? AND plays > 0 ORDER BY plays DESC, name LIMIT ?",
            (ranking.field, top),
        )
    else:
        rows = conn.execute(
            f"SELECT {ranking.label} AS name, sum(s.plays) AS plays, min(i.id) FROM stat_range s"
            f" CROSS JOIN items i ON i.id = s.item_id {ranking.join}"
            f" WHERE {ranking.where} AND s.plays > 0"
            f" GROUP BY {ranking.key} ORDER BY plays DESC, name LIMIT ?",
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
    else:
        # Each target's records in the range, by a seek per target into (service, time): a
        # range alone on that index's second column read every record (30 ms at a million).
        # Every target with records has a stat_targets row (refresh has just counted them).
        only = "" if kind is None else " JOIN items i ON i.id = s.item_id AND i.kind = :kind"
        rows = conn.execute(
            "SELECT t.service, (SELECT count(*) FROM scrobbles s"
            f" INDEXED BY idx_scrobbles_time{only}"
            " WHERE s.service = t.service AND s.scrobbled_at >= :start)"
            " FROM (SELECT DISTINCT service FROM stat_targets) t",
            {"start": start, "kind": kind},
        )
    held = {service: n for service, n in rows.fetchall() if n}
    shares = []
    for service in sorted(set(held) | set(target_media)):
        media = target_media.get(service, frozenset(by_kind))
        of = sum(n for k, n in by_kind.items() if k in media)
        shares.append(TargetShare(service, held.get(service, 0), of))
    return shares
