"""What `sync` reads and writes (issue 21): the archived plays of a source over a period, the
plays a target has or will have, and queueing the rest for it.

"What the target has" is its `scrobbles` rows (imported from it, or sent to it) and the plays
already queued for it; each play is queued for a target once (the job's unique key), so a sync
run again, or stopped half-way and run again, never queues a play twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from scrobctl.store.db import Store
from scrobctl.store.history import source_filter
from scrobctl.store.queue import SCROBBLE, insert_scrobble_job

_ITEM = (
    "i.id AS item_id, i.kind, i.title, i.artist, i.album, i.season, i.number, i.mbid, i.isrc,"
    " i.tmdb, i.imdb, i.tvdb, i.trakt, i.simkl, i.duration_ms AS item_ms, sh.title AS s_title,"
    " sh.tmdb AS s_tmdb, sh.imdb AS s_imdb, sh.tvdb AS s_tvdb, sh.trakt AS s_trakt,"
    " sh.simkl AS s_simkl"
)
_JOINS = " JOIN items i ON i.id = p.item_id LEFT JOIN items sh ON sh.id = i.show_id"
COMMIT_EVERY = 1000  # jobs per transaction: a stopped sync keeps what it queued


def _kinds(kinds: Sequence[str]) -> str:
    return ",".join(f"'{k}'" for k in kinds if k.isalpha())


@dataclass(frozen=True)
class SourcePlays:
    """The archived plays a sync reads: the profile's over [since, until), those `service` has
    (imported from it or sent to it), or those recorded from `source` (`file:spotify`; `file`
    for every export file), or all."""

    profile: str
    service: str | None = None
    source: str | None = None
    since: int | None = None
    until: int | None = None

    def where(self) -> tuple[str, list[object]]:
        clauses, args = ["p.profile = ?"], [self.profile]
        if self.service is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM scrobbles s WHERE s.profile = p.profile AND s.service = ?"
                " AND s.item_id = p.item_id AND s.scrobbled_at = p.watched_at)"
            )
            args.append(self.service)
        if self.source is not None:
            clause, values = source_filter(self.source)
            clauses.append(clause)
            args.extend(values)
        if self.since is not None:
            clauses.append("p.watched_at >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("p.watched_at < ?")
            args.append(self.until)
        return " AND ".join(clauses), args


def source_plays(store: Store, plays: SourcePlays) -> Iterator[sqlite3.Row]:
    """Those plays, oldest first."""
    where, args = plays.where()
    sql = (
        f"SELECT p.id AS play_id, p.watched_at AS at, p.source, p.duration_ms, {_ITEM}"
        f" FROM plays p{_JOINS} WHERE {where} ORDER BY p.watched_at, p.id"
    )
    yield from store.conn.execute(sql, args)


def source_span(store: Store, plays: SourcePlays) -> tuple[int, int] | None:
    """The first and last start time of those plays (None: there are none), so that only the
    target's plays around them need to be read."""
    where, args = plays.where()
    row = store.conn.execute(
        f"SELECT min(p.watched_at), max(p.watched_at) FROM plays p WHERE {where}", args
    ).fetchone()
    return None if row[0] is None else (row[0], row[1])


def target_plays(
    store: Store, profile: str, target: str, kinds: Sequence[str], low: int | None, high: int | None
) -> Iterator[sqlite3.Row]:
    """What the target has between `low` and `high`: its scrobbles (`origin` NULL: the target's
    own time), then the plays queued for it and not refused (`origin`: the play's source)."""
    marks = _kinds(kinds)
    if not marks:
        return
    low = -(2**62) if low is None else low
    high = 2**62 if high is None else high
    yield from store.conn.execute(
        f"SELECT s.id AS ref, s.scrobbled_at AS at, NULL AS origin, NULL AS duration_ms, {_ITEM}"
        " FROM scrobbles s JOIN items i ON i.id = s.item_id LEFT JOIN items sh ON sh.id ="
        " i.show_id WHERE s.profile = ? AND s.service = ? AND s.scrobbled_at BETWEEN ? AND ?"
        f" AND i.kind IN ({marks})",
        (profile, target, low, high),
    )
    yield from store.conn.execute(
        f"SELECT -p.id AS ref, p.watched_at AS at, p.source AS origin, p.duration_ms, {_ITEM}"
        f" FROM jobs j JOIN plays p ON p.id = j.play_id{_JOINS}"
        " WHERE j.kind = ? AND j.service = ? AND j.profile = ? AND j.state NOT IN"
        " ('completed', 'rejected', 'discarded') AND p.watched_at BETWEEN ? AND ?"
        f" AND i.kind IN ({marks})",
        (SCROBBLE, target, profile, low, high),
    )


def has_plays_of(store: Store, profile: str, service: str) -> bool:
    row = store.conn.execute(
        "SELECT 1 FROM scrobbles WHERE profile = ? AND service = ? LIMIT 1", (profile, service)
    ).fetchone()
    return row is not None


def job_states(store: Store, profile: str, target: str) -> dict[int, str]:
    """{play id: job state} of every play ever queued for the target."""
    rows = store.conn.execute(
        "SELECT play_id, state FROM jobs WHERE kind = ? AND service = ? AND profile = ?"
        " AND play_id IS NOT NULL",
        (SCROBBLE, target, profile),
    )
    return {r[0]: r[1] for r in rows}


def queue_plays(
    store: Store, profile: str, target: str, play_ids: Iterable[int], now: float
) -> int:
    """Queue each play for the target once, a thousand a transaction; how many were new."""
    queued = 0
    chunk: list[int] = []

    def write() -> int:
        with store.transaction() as conn:
            return sum(insert_scrobble_job(conn, target, profile, p, now) for p in chunk)

    for play_id in play_ids:
        chunk.append(play_id)
        if len(chunk) >= COMMIT_EVERY:
            queued += write()
            chunk.clear()
    if chunk:
        queued += write()
    return queued
