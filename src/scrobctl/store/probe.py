"""Questions about the database answered read-only with sqlite3 alone (nothing migrated or
created): for start-up fast paths, and for `doctor`, which must look at a file as it is."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from scrobctl.store.migrations import MIGRATIONS


@contextmanager
def read_only(path: Path, timeout: float) -> Iterator[sqlite3.Connection]:
    """A connection that cannot write, migrate or create the file: for looking only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    try:
        yield conn
    finally:
        conn.close()


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
        with read_only(path, timeout=5) as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                return False
            row = conn.execute(
                "SELECT 1 FROM jobs WHERE state = 'running' UNION ALL"
                " SELECT 1 FROM jobs WHERE state IN ('available', 'retryable')"
                " AND scheduled_at <= ? LIMIT 1",
                (time.time(),),
            ).fetchone()
            return row is None
    except sqlite3.Error:
        return False


class Health(NamedTuple):
    version: int  # PRAGMA user_version: the schema's migration count
    integrity: str  # the first line of the page check: "ok" when sound
    tables: set[str]  # every name in sqlite_master
    how: str = "integrity_check"  # which check: integrity_check (every page) or quick_check


# The tables that grow with the archive. Checking their pages reads the whole file (9.7 s for
# `integrity_check` on a million plays, issue #25), so a plain `doctor` checks every other
# table (logins, settings, imports: what a damaged file breaks first) and `--full` them all.
# `stat_tops` (stats' running totals, a row per track and album) grows with the library.
LARGE_TABLES = ("items", "plays", "jobs", "scrobbles", "ratings", "stat_tops")


def health(path: Path, full: bool = False) -> Health:
    """What `doctor` says of the file, read without writing: `integrity_check` of every page
    with `full`, else `quick_check` of each small table and its indexes (SQLite >= 3.33 takes
    a table name). Raises sqlite3.DatabaseError when the file cannot be read as a database."""
    with read_only(path, timeout=10) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if full:
            return Health(version, conn.execute("PRAGMA integrity_check").fetchone()[0], tables)
        small = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        for (table,) in small:
            if table in LARGE_TABLES:
                continue
            result = conn.execute(f"PRAGMA quick_check('{table}')").fetchone()[0]
            if result != "ok":
                return Health(version, result, tables, "quick_check")
    return Health(version, "ok", tables, "quick_check")


def logins(path: Path) -> tuple[list[tuple[str, str, str]], str | None]:
    """(profile, target, kind) of every connection, and the archive id that scopes keyring
    entries (None before there is one), read without migrating: an older schema is read as it
    is. Raises sqlite3.DatabaseError when the file cannot be read."""
    with read_only(path, timeout=10) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(connections)")}
        # A target's kind picks its secret's key (issue 19); before m009 it is its name.
        kind_col = "coalesce(kind, service)" if "kind" in columns else "service"
        rows = conn.execute(f"SELECT profile, service, {kind_col} FROM connections").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        scope = None
        if "meta" in tables:
            found = conn.execute("SELECT value FROM meta WHERE key = 'archive_id'").fetchone()
            scope = found[0] if found else None
    return [(r[0], r[1], r[2]) for r in rows], scope
