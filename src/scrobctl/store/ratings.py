"""Local ratings on one 1-10 scale, and queueing their export as jobs.

Where several sources rate one item, the most recently rated value is the item's rating (a local
rating wins a tie). An export job's unique key holds the value, so exporting again queues
nothing, and a changed rating queues again (replacing a job for the old value not yet sent).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scrobctl.store.db import Store
from scrobctl.store.names import VIDEO_IDS
from scrobctl.store.queue import MAX_ATTEMPTS, job_item, job_rows, row_name

LOCAL = "local"
RATING = "rating"


def set_rating(
    conn: sqlite3.Connection,
    profile: str,
    item_id: int,
    rating: float,
    rated_at: int | None,
    source: str = LOCAL,
) -> bool:
    """Inside the caller's transaction. False when the source had given this rating already
    (the same file imported again adds nothing)."""
    if not 1 <= rating <= 10:
        raise ValueError("a rating is from 1 to 10")
    known = conn.execute(
        "SELECT rating, rated_at FROM ratings WHERE profile = ? AND item_id = ? AND source = ?",
        (profile, item_id, source),
    ).fetchone()
    if known is not None and (known[0], known[1]) == (rating, rated_at):
        return False
    conn.execute(
        "INSERT INTO ratings (profile, item_id, rating, rated_at, source, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (profile, item_id, source) DO UPDATE SET"
        " rating = excluded.rating, rated_at = excluded.rated_at,"
        " recorded_at = excluded.recorded_at",
        (profile, item_id, rating, rated_at, source, time.time()),
    )
    return known is None or known[0] != rating


@dataclass(frozen=True, slots=True)
class RatingRecord:
    """One rating with its item, as the rating senders need it."""

    job_id: int
    item_id: int
    kind: str
    rating: float
    rated_at: int | None
    title: str | None
    artist: str | None
    mbid: str | None
    ids: dict[str, Any] = field(default_factory=dict)
    show_ids: dict[str, Any] = field(default_factory=dict)
    season: int | None = None
    number: int | None = None
    attempt: int = 1


def effective_ratings(
    store: Store, profile: str, *, source: str | None, since: int | None
) -> Iterator[sqlite3.Row]:
    """Each rated item's current rating: the newest (a local one wins a tie), or, with
    `source`, that source's rating."""
    where, args = "r.profile = ?", [profile]
    if source is not None:
        where += " AND r.source = ?"
        args.append(source)
    sql = (
        "SELECT * FROM (SELECT r.item_id, r.rating, r.rated_at, r.source, i.kind, i.mbid,"
        " row_number() OVER (PARTITION BY r.item_id ORDER BY COALESCE(r.rated_at, 0) DESC,"
        " r.source = 'local' DESC, r.id DESC) AS rank"
        f" FROM ratings r JOIN items i ON i.id = r.item_id WHERE {where})"
        " WHERE rank = 1 AND COALESCE(rated_at, 0) >= ? ORDER BY item_id"
    )
    yield from store.conn.execute(sql, [*args, since or 0])


@dataclass
class ExportSummary:
    queued: int = 0
    unchanged: int = 0
    already_there: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (item id, why)
    # What is (or, in a dry run, would be) queued: (item name, value sent), in item order.
    planned: list[tuple[str, float]] = field(default_factory=list)
    kind: str = ""  # of the target: what the values mean (a love, feedback, a rating)


def rating_key(service: str, profile: str, item_id: int, value: float) -> str:
    return f"{RATING}:{service}:{profile}:{item_id}:{value:g}"


def queue_exports(
    store: Store,
    profile: str,
    service: str,
    *,
    convert: Callable[[sqlite3.Row], tuple[float | None, str | None]],
    source: str | None,
    since: int | None,
    dry_run: bool,
    now: float,
) -> ExportSummary:
    """Queue one job per rating the service does not have with that value yet.

    `convert` maps a rating row to the value to send, or (None, reason) to skip it.
    """
    summary = ExportSummary()
    with store.transaction(dry_run=dry_run) as conn:
        for row in list(effective_ratings(store, profile, source=source, since=since)):
            if row["source"] == service:
                summary.already_there += 1
                continue
            value, reason = convert(row)
            if value is None:
                summary.skipped.append((row["item_id"], reason or "not exportable"))
                continue
            stored = conn.execute(
                "SELECT r.rating, r.rated_at, r.source, i.kind, i.mbid FROM ratings r"
                " JOIN items i ON i.id = r.item_id"
                " WHERE r.profile = ? AND r.item_id = ? AND r.source = ?",
                (profile, row["item_id"], service),
            ).fetchone()
            if stored is not None and convert(stored)[0] == value:
                summary.already_there += 1  # in the service's own terms (a love is a love)
                continue
            latest = conn.execute(
                "SELECT payload FROM jobs WHERE kind = ? AND service = ? AND profile = ?"
                " AND item_id = ? AND state NOT IN ('discarded', 'rejected')"
                " ORDER BY id DESC LIMIT 1",
                (RATING, service, profile, row["item_id"]),
            ).fetchone()
            if latest is not None and json.loads(latest["payload"])["rating"] == value:
                summary.unchanged += 1  # queued or sent with this value, and not changed since
                continue
            # An unsent job for another value is replaced; an old job with this same value (a
            # rating changed and changed back) makes way for the new one.
            key = rating_key(service, profile, row["item_id"], value)
            conn.execute(
                "DELETE FROM jobs WHERE kind = ? AND service = ? AND profile = ? AND item_id = ?"
                " AND (state IN ('available', 'retryable') OR unique_key = ?)",
                (RATING, service, profile, row["item_id"], key),
            )
            payload = {"rating": value, "rated_at": row["rated_at"]}
            conn.execute(
                "INSERT INTO jobs (kind, service, profile, item_id, payload, state, attempt,"
                " max_attempts, scheduled_at, created_at, errors, unique_key)"
                " VALUES (?, ?, ?, ?, ?, 'available', 0, ?, ?, ?, '[]', ?)",
                (
                    RATING,
                    service,
                    profile,
                    row["item_id"],
                    json.dumps(payload),
                    MAX_ATTEMPTS,
                    now,
                    now,
                    key,
                ),
            )
            summary.queued += 1
            summary.planned.append((_name(conn, row["item_id"]), value))
    return summary


def rating_records(conn: sqlite3.Connection, job_ids: list[int]) -> list[RatingRecord]:
    records = []
    for row in job_rows(conn, job_ids):
        payload = json.loads(row["payload"])
        records.append(
            RatingRecord(
                **job_item(row), rating=payload["rating"], rated_at=payload.get("rated_at")
            )
        )
    return records


def _name(conn: sqlite3.Connection, item_id: int) -> str:
    """The item as every list names it (`Severance S01E02`, `Artist - Title`)."""
    row = conn.execute(
        "SELECT i.*, s.title AS show_title FROM items i LEFT JOIN items s ON s.id = i.show_id"
        " WHERE i.id = ?",
        (item_id,),
    ).fetchone()
    ids = {k: row[k] for k in VIDEO_IDS}
    return row_name(row, row["kind"], ids)
