"""Opening the SQLite file: permissions, pragmas, migrations and the guard against foreign files."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from scrobctl.errors import StoreError, database_error
from scrobctl.store.migrations import MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
# Concurrent flush/scrobble/import share one file; wait for the other writer instead of failing.
BUSY_TIMEOUT_MS = 30_000

# CPython's sqlite3 (3.11 here) adapts every parameter that is not an int, float, str or bytes:
# for None it finds no adapter, then asks for `__adapt__` and `__conform__`, two look-ups that
# each raise and clear an AttributeError, 0.3-0.4 us a NULL (a new track's row binds twelve).
# With None registered as adapting to itself (dict.get in C returns None for it) a NULL costs a
# dict look-up. Process-wide, and it binds exactly what it bound before.
sqlite3.register_adapter(type(None), {}.get)


@contextmanager
def transaction(conn: sqlite3.Connection, *, dry_run: bool = False) -> Iterator[sqlite3.Connection]:
    """The one way scrobctl writes. BEGIN IMMEDIATE takes the write lock up front, so two
    writers never deadlock half-way; what is written inside is committed together or not at
    all. An error (Ctrl-C too) rolls it back, and so does the end of a dry run: a dry run makes
    every write a real run would, so that what it counts is what a real run would do."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back itself (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise
    conn.execute("ROLLBACK" if dry_run else "COMMIT")


R = TypeVar("R")


@cache
def _columns(cls: type, computed: frozenset[str]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in computed)


def from_row(cls: type[R], row: sqlite3.Row, **computed: Any) -> R:
    """A record whose fields are the row's columns of the same names; `computed` gives those a
    column does not hold as it is (JSON text, flags, a name of the row's own)."""
    taken = {name: row[name] for name in _columns(cls, frozenset(computed))}
    return cls(**taken, **computed)


class Store:
    """One connection to the scrobctl database. Writers use `transaction()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    def transaction(self, *, dry_run: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.conn, dry_run=dry_run)

    def close(self) -> None:
        self.conn.close()


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does; its -wal/-shm files inherit the mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _check_header(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        raise StoreError(
            f"{path} is not an SQLite database; it was left untouched",
            "move it away or point SCROBCTL_DATA_DIR at another folder",
        )


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    # Statement journals (and temporary tables) in memory: a batch's job inserts each journal
    # the pages they change, which went to a file in /var/tmp, 3 GB of writes for 100,000 lines.
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def checkpoint_every(conn: sqlite3.Connection, pages: int) -> None:
    """How many pages the write-ahead log grows to before SQLite copies it into the file."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")


def cache_size(conn: sqlite3.Connection, size: int) -> int:
    """Set the connection's page cache (`PRAGMA cache_size`: pages, or KiB when negative);
    returns the size it had."""
    before = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {int(size)}")
    return int(before)


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes when another connection commits: what was read may be stale."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def next_id(conn: sqlite3.Connection, table: str) -> int:
    """The id SQLite would give the table's next row. Rows written in batches take their ids
    from here; that is safe only inside BEGIN IMMEDIATE, where no other process can insert."""
    assert conn.in_transaction, "ids may only be handed out inside a write transaction"
    return conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]


def open_store(path: Path) -> Store:
    """Open (creating 0600 if absent) and migrate. Never touches a file that is not ours."""
    if not path.exists():
        _create_private(path)
    _check_header(path)
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path)
        # Look before writing anything: switching to WAL rewrites the header of a foreign file.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{path} was written by a newer scrobctl (schema {version}); it was left untouched",
                "upgrade scrobctl",
            )
        if version == 0 and _foreign_tables(conn):
            raise _foreign(path)
        if version > 0 and not _has_migrations(conn):
            raise _foreign(path)  # another program that also numbers its schema
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        if version < len(MIGRATIONS):
            _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise database_error(exc, path) from None
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return Store(conn, path)


def _foreign_tables(conn: sqlite3.Connection) -> set[str]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return tables - {"_migrations"}


def _has_migrations(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
        ).fetchone()
        is not None
    )


def _foreign(path: Path) -> StoreError:
    return StoreError(
        f"{path} holds tables scrobctl did not create; it was left untouched",
        "point SCROBCTL_DATA_DIR at another folder",
    )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    from sqlite_utils import Database

    db = Database(conn)
    with transaction(conn):
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and _foreign_tables(conn):
            raise _foreign(path)
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
        ).fetchone():
            db["_migrations"].create({"name": str, "applied_at": float}, pk="name")
        for index, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            migration(db)
            db["_migrations"].insert({"name": migration.__name__, "applied_at": time.time()})
            conn.execute(f"PRAGMA user_version = {index}")


def schema_is_current(path: Path) -> bool:
    """Cheap check used by fast paths: the file exists and needs no migration."""
    if not path.exists():
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
