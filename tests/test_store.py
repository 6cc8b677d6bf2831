"""The SQLite store: private files, WAL, migrations, and refusing files that are not ours."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from scrobctl.config import Settings
from scrobctl.errors import StoreError
from scrobctl.paths import ensure_private_dir
from scrobctl.runtime import Runtime
from scrobctl.store import open_store
from scrobctl.store.db import schema_is_current
from scrobctl.store.migrations import MIGRATIONS


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def foreign_sqlite_file(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('soup')")
    conn.commit()
    conn.close()
    return path.read_bytes()


def add_item(conn: sqlite3.Connection) -> int:
    return conn.execute("INSERT INTO items (kind, title) VALUES ('track', 'Hurt')").lastrowid


def test_store_runtime_creates_private_database_and_folder(data_dir: Path) -> None:
    runtime = Runtime(settings=Settings(), warn=lambda message: None)
    try:
        runtime.store()
    finally:
        runtime.close()
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "scrobctl.db") == 0o600


def test_ensure_private_dir_creates_folder_0700(tmp_path: Path) -> None:
    folder = ensure_private_dir(tmp_path / "a" / "b")
    assert folder.is_dir()
    assert mode(folder) == 0o700


def test_store_wal_files_are_private(store) -> None:
    with store.transaction() as conn:
        add_item(conn)
    wal = store.path.with_name(store.path.name + "-wal")
    assert wal.exists()
    assert mode(wal) == 0o600


def test_store_uses_wal_journal_mode(store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_keeps_statement_journals_in_memory(store) -> None:
    """A job's insert fires a trigger, so each row inside a transaction saves the pages it
    changes in a statement journal: in a file under /var/tmp, that was 3 GB written for
    100,000 piped lines (a fifth of the run), and the user's history in a shared folder."""
    assert store.conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


def test_store_binds_none_through_a_registered_adapter(store) -> None:
    """Without one, each NULL parameter costs CPython's sqlite3 two failed attribute look-ups
    (a third of a new track's insert); the adapter is found in the registry instead."""
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters


def test_store_still_binds_none_as_null(store) -> None:
    assert store.conn.execute("SELECT ? IS NULL, typeof(?)", (None, None)).fetchone()[:] == (
        1,
        "null",
    )


def test_store_records_migrations_and_user_version(store) -> None:
    names = [r[0] for r in store.conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == [m.__name__ for m in MIGRATIONS]
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_store_reopen_applies_nothing_twice(data_dir: Path) -> None:
    path = data_dir / "scrobctl.db"
    open_store(path).close()
    again = open_store(path)
    try:
        rows = again.conn.execute("SELECT name, count(*) FROM _migrations GROUP BY name").fetchall()
    finally:
        again.close()
    assert [tuple(r) for r in rows] == [(m.__name__, 1) for m in MIGRATIONS]


def test_store_refuses_non_sqlite_file_and_leaves_it_untouched(tmp_path: Path) -> None:
    path = tmp_path / "scrobctl.db"
    content = os.urandom(4096)
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not an SQLite database"):
        open_store(path)
    assert path.read_bytes() == content


def test_store_refuses_sqlite_file_with_foreign_tables(tmp_path: Path) -> None:
    path = tmp_path / "scrobctl.db"
    foreign_sqlite_file(path)
    with pytest.raises(StoreError, match="did not create"):
        open_store(path)


def test_store_leaves_foreign_sqlite_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "scrobctl.db"
    content = foreign_sqlite_file(path)
    with pytest.raises(StoreError):
        open_store(path)
    assert path.read_bytes() == content


def test_store_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "scrobctl.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer scrobctl"):
        open_store(path)


def test_store_unique_index_rejects_duplicate_scrobble(store) -> None:
    with store.transaction() as conn:
        item = add_item(conn)
    row = ("default", "listenbrainz", item, 1_700_000_000, "sent")
    insert = (
        "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source)"
        " VALUES (?, ?, ?, ?, ?)"
    )
    store.conn.execute(insert, row)
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(insert, row)


def test_store_unique_index_rejects_duplicate_play(store) -> None:
    with store.transaction() as conn:
        item = add_item(conn)
    insert = "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, 1700000000)"
    store.conn.execute(insert, (item,))
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(insert, (item,))


def test_schema_is_current_false_for_missing_file(tmp_path: Path) -> None:
    assert not schema_is_current(tmp_path / "missing.db")


def test_schema_is_current_true_after_open(store) -> None:
    assert schema_is_current(store.path)


def test_schema_is_current_false_before_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    foreign_sqlite_file(path)
    assert not schema_is_current(path)


def test_schema_is_current_false_for_non_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    assert not schema_is_current(path)
