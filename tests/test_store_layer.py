"""The store layer (issue 18): SQL lives in `store/`, and every write goes through one
transaction helper that commits on success and rolls back on an error or a dry run."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

import scrobctl

SRC = Path(scrobctl.__file__).parent
SQL_TEXT = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA"
    r"|CREATE|DROP|ALTER|WITH)\b"
)
SQL_CALLS = {"execute", "executemany", "executescript"}


def count(store: Any, table: str) -> int:
    return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def add_notice(conn: Any, key: str) -> None:
    conn.execute("INSERT INTO notices (key, sent_at, title) VALUES (?, 0, 't')", (key,))


def test_transaction_commits_what_it_wrote(store: Any) -> None:
    with store.transaction() as conn:
        add_notice(conn, "a")
    assert count(store, "notices") == 1
    assert not store.conn.in_transaction


def test_transaction_rolls_back_on_an_error(store: Any) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        add_notice(conn, "a")
        raise RuntimeError("half-way")
    assert count(store, "notices") == 0
    assert not store.conn.in_transaction


def test_transaction_rolls_back_on_ctrl_c(store: Any) -> None:
    with pytest.raises(KeyboardInterrupt), store.transaction() as conn:
        add_notice(conn, "a")
        raise KeyboardInterrupt
    assert count(store, "notices") == 0


def test_dry_run_transaction_sees_its_writes_and_keeps_none(store: Any) -> None:
    with store.transaction(dry_run=True) as conn:
        add_notice(conn, "a")
        assert count(store, "notices") == 1  # what a real run would count
    assert count(store, "notices") == 0
    assert not store.conn.in_transaction


def test_transaction_holds_the_write_lock_from_the_start(store: Any) -> None:
    """BEGIN IMMEDIATE: a second writer waits (here: fails at once) before anything is written."""
    import sqlite3

    from scrobctl.store.db import connect

    other = connect(store.path)
    other.execute("PRAGMA busy_timeout = 0")
    try:
        with store.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_transaction_raises_the_first_error_when_sqlite_rolled_back_itself(store: Any) -> None:
    with pytest.raises(RuntimeError, match="first"), store.transaction() as conn:
        conn.execute("ROLLBACK")  # as SQLite does by itself on a full disk or an I/O error
        raise RuntimeError("first")
    assert not store.conn.in_transaction


def sql_outside_store(src: Path = SRC) -> list[str]:
    """Each SQL statement or call to execute() in a module outside store/, as file:line."""
    found = []
    for path in sorted(src.rglob("*.py")):
        if src / "store" in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(src)}:{getattr(node, 'lineno', 0)}"
            # An f-string's literal parts are constants too.
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if SQL_TEXT.match(node.value):
                    found.append(f"{where}: {node.value[:40]!r}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_CALLS
            ):
                found.append(f"{where}: .{node.func.attr}()")
    return sorted(found)


def test_no_sql_outside_the_store() -> None:
    assert sql_outside_store() == []


def test_the_sql_check_finds_sql(tmp_path: Path) -> None:
    """The check above is not vacuous: it finds a statement and a call where they are."""
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "plays.py").write_text('conn.execute("SELECT 1")\n')
    (tmp_path / "status.py").write_text(
        'n = store.conn.execute("SELECT count(*) FROM plays")\nq = f"DELETE FROM {t}"\n'
    )
    assert sql_outside_store(tmp_path) == [
        "status.py:1: 'SELECT count(*) FROM plays'",
        "status.py:1: .execute()",
        "status.py:2: 'DELETE FROM '",
    ]


def test_only_the_helper_begins_commits_or_rolls_back() -> None:
    """Every writer goes through `db.transaction`: no other module of the store (nor, by the
    test above, of scrobctl) says BEGIN, COMMIT or ROLLBACK."""
    control = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END)\b")
    found = []
    for path in sorted((SRC / "store").glob("*.py")):
        if path.name == "db.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # A trigger's body is BEGIN ... END too, but it is part of the CREATE TRIGGER statement
        # (migration m010), not a transaction.
        in_trigger = {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            and isinstance(node.values[0], ast.Constant)
            and str(node.values[0].value).startswith("CREATE TRIGGER")
            for part in node.values
        }
        found += [
            f"{path.name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in in_trigger
            and control.match(node.value)
        ]
    assert found == []
