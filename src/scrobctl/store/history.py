"""The `scrobbles` table: which plays each service is known to have (sent by us, or imported)."""

from __future__ import annotations

import sqlite3


def half_length_window(length_ms: int | None) -> int:
    """Seconds either side of a start time within which another play is the same play."""
    return max(1, (length_ms or 0) // 2000)


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
