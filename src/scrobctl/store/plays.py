"""Questions about the `plays` table: the archive's own record of what was played."""

from __future__ import annotations

import sqlite3

from scrobctl.store.db import Store


def nearest_play(
    conn: sqlite3.Connection, profile: str, item_id: int, started: int, window: int
) -> tuple[int, int] | None:
    """(id, watched_at) of the play of the item starting closest to `started`, less than
    `window` seconds either side: the same play (see `history.half_length_window`)."""
    row = conn.execute(
        "SELECT id, watched_at FROM plays WHERE profile = ? AND item_id = ? AND watched_at > ?"
        " AND watched_at < ? ORDER BY abs(watched_at - ?) LIMIT 1",
        (profile, item_id, started - window, started + window, started),
    ).fetchone()
    return (row[0], row[1]) if row else None


def has_plays(conn: sqlite3.Connection, profile: str, item_id: int) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM plays WHERE profile = ? AND item_id = ? LIMIT 1", (profile, item_id)
        ).fetchone()
        is not None
    )


def count_plays(store: Store, *, source: str | None = None) -> int:
    """Every play in the archive, or those that came from `source` (`file:spotify`...)."""
    if source is None:
        return store.conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    row = store.conn.execute("SELECT count(*) FROM plays WHERE source = ?", (source,)).fetchone()
    return int(row[0])
