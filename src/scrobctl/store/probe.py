"""Questions about the database answered with sqlite3 alone, for start-up fast paths."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from scrobctl.store.migrations import MIGRATIONS


def nothing_due(path: Path) -> bool:
    """True when there is certainly no job to send now.

    Most cron runs find an empty queue; this answers them without settings, HTTP or the keyring.
    Any doubt (no schema yet, an unreadable file) answers False so the full path can report it.
    """
    if not path.exists():
        # No database yet, in a real folder. A data folder that is a file or a dangling link
        # is not "nothing due": the full path says what is wrong with it.
        return path.parent.is_dir() or not os.path.lexists(path.parent)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                return False
            row = conn.execute(
                "SELECT 1 FROM jobs WHERE state = 'running' UNION ALL"
                " SELECT 1 FROM jobs WHERE state IN ('available', 'retryable')"
                " AND scheduled_at <= ? LIMIT 1",
                (time.time(),),
            ).fetchone()
            return row is None
        finally:
            conn.close()
    except sqlite3.Error:
        return False
