"""Archived plays a target lacks: recorded here while it was not connected, never queued for
it, and not known to be on it (issue 17, "no play is left behind").

Only plays recorded by scrobctl itself count (`created_at` set; imports leave it NULL): plays
imported from another service are for `sync`, which first imports the target's own history.
And only plays recorded before the connection was made: later ones were routed at ingest.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrobctl.store.db import Store
from scrobctl.store.history import MIN_LENGTH_MS
from scrobctl.store.job_counts import scrobble_key_sql

COUNT_CAP = 100_000  # status counts at most this many (it says "at least" beyond)

_MIN = " ".join(f"WHEN '{k}' THEN {v}" for k, v in MIN_LENGTH_MS.items())
_WHERE = (
    " FROM plays p JOIN items i ON i.id = p.item_id"
    " WHERE p.profile = :profile AND p.created_at IS NOT NULL AND p.created_at < :before"
    " AND i.kind IN ({kinds})"
    " AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.unique_key ="
    f"  {scrobble_key_sql(':service', 'p.id')})"
    " AND NOT EXISTS (SELECT 1 FROM scrobbles s WHERE s.profile = p.profile"
    "  AND s.service = :service AND s.item_id = p.item_id"
    f"  AND abs(s.scrobbled_at - p.watched_at) < max(1, coalesce(p.duration_ms, i.duration_ms,"
    f"  CASE i.kind {_MIN} ELSE 2000 END) / 2000))"
)


def _args(profile: str, service: str, before: float) -> dict[str, object]:
    return {"profile": profile, "service": service, "before": before}


def count_lacking(
    store: Store, profile: str, service: str, kinds: Sequence[str], before: float
) -> int:
    if not kinds:
        return 0
    marks = ",".join(f"'{k}'" for k in kinds if k.isalpha())
    sql = f"SELECT count(*) FROM (SELECT 1 {_WHERE.format(kinds=marks)} LIMIT {COUNT_CAP})"
    return store.conn.execute(sql, _args(profile, service, before)).fetchone()[0]


def queue_lacking(
    store: Store, profile: str, service: str, kinds: Sequence[str], before: float, now: float
) -> int:
    """Queue every lacking play for the target, in one transaction; the count queued."""
    # Here, not at the top: `status` counts what is lacking and must not import the queue's
    # module for that (issue #25).
    from scrobctl.store.queue import insert_scrobble_job

    if not kinds:
        return 0
    marks = ",".join(f"'{k}'" for k in kinds if k.isalpha())
    queued = 0
    with store.transaction() as conn:
        rows = conn.execute(
            f"SELECT p.id {_WHERE.format(kinds=marks)}", _args(profile, service, before)
        ).fetchall()
        for (play_id,) in rows:
            queued += insert_scrobble_job(conn, service, profile, play_id, now)
    return queued
