"""A database scrobctl cannot use, and `scrobctl doctor` (store/db.py, doctor.py).

A corrupt file (a valid SQLite header, then garbage) or another program's SQLite database in the
data folder must give one clear line and exit 1, never a traceback, and must be left exactly as it
was: the user's only copy of their history, or another program's data. `doctor` names the problem
and its fix and exits 1; on a healthy setup it exits 0 and reports integrity and schema.
Every command runs as the installed console script, as a user would run it.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scrobctl.lock import exclusive
from scrobctl.paths import DB_NAME, FLUSH_LOCK_NAME
from scrobctl.store.migrations import MIGRATIONS
from tests.helpers import json_data, json_error

TIMEOUT = 30.0
HEADER = b"SQLite format 3\x00"
TRACK = (
    '{"type": "track", "title": "Hurt", "artist": "Johnny Cash", "duration_ms": 218000,'
    ' "watched_ms": 150000, "watched_at": 1790000000}\n'
)
CHECK_NAMES = {"configuration", "data folder", "flush lock", "token store"}


def scrobctl(*args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """The installed console script, with the isolated environment and the file token store."""
    env = {**os.environ, "SCROBCTL_TOKEN_STORE": "file"}
    env.pop("SCROBCTL_DEBUG", None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "scrobctl"), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    data = json_data(result.stdout)
    return {c["name"]: c for c in data["checks"]}


# -- database files scrobctl must not touch ------------------------------------------------------


def _private_dir(data_dir: Path) -> Path:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return data_dir / DB_NAME


def corrupt_header_then_garbage(data_dir: Path) -> Path:
    db = _private_dir(data_dir)
    db.write_bytes(HEADER + random.Random(7).randbytes(16 * 4096 - len(HEADER)))
    db.chmod(0o600)
    return db


def corrupt_pages_after_the_first(data_dir: Path) -> Path:
    """A real scrobctl database whose every page but the first is overwritten with garbage."""
    result = scrobctl("scrobble", input=TRACK * 1)
    assert result.returncode == 0, result.stderr
    db = data_dir / DB_NAME
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[page_size:] = random.Random(11).randbytes(len(data) - page_size)
    db.write_bytes(bytes(data))
    return db


def foreign(data_dir: Path, user_version: int = 0) -> Path:
    """Another program's SQLite database (a browser's history, say)."""
    db = _private_dir(data_dir)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT, title TEXT)")
    conn.execute("INSERT INTO moz_places (url, title) VALUES ('https://example.org', 'Example')")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    db.chmod(0o600)
    return db


def not_sqlite(data_dir: Path) -> Path:
    db = _private_dir(data_dir)
    db.write_text("these are my notes, not a database\n")
    db.chmod(0o600)
    return db


def newer_schema(data_dir: Path) -> Path:
    result = scrobctl("status")
    assert result.returncode == 0, result.stderr
    db = data_dir / DB_NAME
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


CORRUPT = {
    "header-then-garbage": corrupt_header_then_garbage,
    "pages-after-the-first-overwritten": corrupt_pages_after_the_first,
}
BUG_CORRUPT = (
    "BUG: store/db.py open_store calls connect() (which runs PRAGMA synchronous) outside its "
    "try block, so sqlite3.DatabaseError ('file is not a database' / 'disk image is malformed') "
    "escapes as a traceback instead of a one-line StoreError"
)
BUG_FOREIGN_VERSIONED = (
    "BUG: open_store treats any user_version in 1..len(MIGRATIONS) as its own schema: another "
    "program's database with PRAGMA user_version = 2 is switched to WAL (its header rewritten) and "
    "migrated, and the message claims it was left untouched"
)

BUG_DOCTOR_FOREIGN_VERSIONED = (
    "BUG: doctor._database flags another program's tables only when user_version is 0, so a "
    "foreign database with user_version 2 is reported as 'integrity_check ok' and 'schema 2; it "
    "is upgraded to 3 on use' (exit 0), though using it would rewrite it"
)


def assert_untouched(db: Path, before: str) -> None:
    assert digest(db) == before, "the database file was modified"
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = db.with_name(db.name + suffix)
        assert not sidecar.exists() or sidecar.stat().st_size == 0, f"{sidecar.name} was written"


# -- a database that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize("command", [("status",), ("status", "--json"), ("flush",)])
@pytest.mark.parametrize("damage", list(CORRUPT))
def test_corrupt_database_gives_one_line_exit_1_and_is_left_untouched(
    data_dir: Path, damage: str, command: tuple[str, ...]
) -> None:
    db = CORRUPT[damage](data_dir)
    before = digest(db)

    result = scrobctl(*command)

    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    message = one_line(result.stdout if "--json" in command else result.stderr)
    assert str(db) in message
    assert_untouched(db, before)


def test_corrupt_database_is_left_untouched_by_a_scrobble(data_dir: Path) -> None:
    """Whatever the message, the user's only copy of their history survives a `scrobble`."""
    db = corrupt_header_then_garbage(data_dir)
    before = digest(db)

    result = scrobctl("scrobble", input=TRACK)

    assert result.returncode != 0
    assert_untouched(db, before)


def test_foreign_database_gives_one_line_exit_1_and_is_left_untouched(data_dir: Path) -> None:
    db = foreign(data_dir)
    before = digest(db)

    result = scrobctl("status")

    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("error: ")
    assert "did not create" in line
    assert "SCROBCTL_DATA_DIR" in line  # the way out
    assert_untouched(db, before)


def test_foreign_database_with_json_gives_a_json_error(data_dir: Path) -> None:
    db = foreign(data_dir)

    result = scrobctl("status", "--json")

    assert result.returncode == 1
    error = json_error(one_line(result.stdout))
    assert error["exit_code"] == 1
    assert str(db) in error["message"]
    assert error["hint"] == "point SCROBCTL_DATA_DIR at another folder"
    assert error["hint"] not in error["message"]


def test_foreign_database_with_a_user_version_is_left_untouched(data_dir: Path) -> None:
    db = foreign(data_dir, user_version=2)
    before = digest(db)

    result = scrobctl("status")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert_untouched(db, before)
    assert "did not create" in one_line(result.stderr)


def test_a_file_that_is_not_sqlite_gives_one_line_and_is_left_untouched(data_dir: Path) -> None:
    db = not_sqlite(data_dir)
    before = digest(db)

    result = scrobctl("status")

    assert result.returncode == 1
    assert "not an SQLite database" in one_line(result.stderr)
    assert_untouched(db, before)


def test_database_from_a_newer_scrobctl_gives_one_line_and_is_left_untouched(
    data_dir: Path,
) -> None:
    db = newer_schema(data_dir)
    before = digest(db)

    result = scrobctl("scrobble", input=TRACK)

    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "newer scrobctl" in line
    assert "upgrade" in line
    assert digest(db) == before


# -- doctor ------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", list(CORRUPT))
def test_doctor_reports_a_corrupt_database_with_a_fix_and_exits_1(
    data_dir: Path, damage: str
) -> None:
    db = CORRUPT[damage](data_dir)
    before = digest(db)

    result = scrobctl("doctor")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert "database" in failed
    assert str(db) in failed
    assert "fix:" in result.stdout.split(failed, 1)[1].splitlines()[1]
    assert digest(db) == before


def test_doctor_reports_a_foreign_database_with_a_fix_and_exits_1(data_dir: Path) -> None:
    db = foreign(data_dir)
    before = digest(db)

    result = scrobctl("doctor", "--json")

    assert result.returncode == 1
    database = checks(result)["database"]
    assert database["status"] == "fail"
    assert "another program" in database["detail"]
    assert database["fix"]
    assert_untouched(db, before)


def test_doctor_reports_a_foreign_database_that_has_a_user_version(data_dir: Path) -> None:
    foreign(data_dir, user_version=2)

    result = scrobctl("doctor", "--json")

    assert result.returncode == 1
    assert checks(result)["database"]["status"] == "fail"


def test_doctor_on_a_healthy_setup_with_the_file_token_store_exits_0(data_dir: Path) -> None:
    made = scrobctl("scrobble", input=TRACK)
    assert made.returncode == 0, made.stderr
    db = data_dir / DB_NAME
    before = digest(db)

    result = scrobctl("doctor")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "quick_check ok" in result.stdout
    assert f"schema {len(MIGRATIONS)} (current)" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert "file store" in result.stdout  # the file token store is named, as a warning
    assert digest(db) == before


def test_doctor_json_lists_every_check_with_name_status_detail_and_fix(data_dir: Path) -> None:
    assert scrobctl("scrobble", input=TRACK).returncode == 0

    result = scrobctl("doctor", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    data = json_data(result.stdout)
    assert set(data) == {"checks"}
    for check in data["checks"]:
        assert set(check) == {"name", "status", "detail", "fix"}
        assert isinstance(check["name"], str) and check["name"]
        assert check["status"] in ("ok", "warn", "fail")
        assert isinstance(check["detail"], str) and check["detail"]
        assert check["fix"] is None or isinstance(check["fix"], str)
        if check["status"] != "ok":
            assert check["fix"], f"{check['name']}: a problem without a fix"
    found = {c["name"]: c for c in data["checks"]}
    assert CHECK_NAMES | {"database integrity", "schema"} <= set(found)
    assert found["database integrity"] == {
        "name": "database integrity",
        "status": "ok",
        "detail": "quick_check ok (all but the large tables: items, plays, jobs, scrobbles,"
        " ratings, stat_tops; `scrobctl doctor --full` reads every page)",
        "fix": None,
    }
    assert found["schema"]["detail"] == f"schema {len(MIGRATIONS)} (current)"
    assert found["token store"]["status"] == "warn"


def test_doctor_warns_about_an_app_secret_in_the_config_file(data_dir: Path) -> None:
    config = Path(os.environ["SCROBCTL_CONFIG"])
    config.write_text('[trakt]\nclient_id = "app"\nclient_secret = "s3cret"\n', encoding="utf-8")

    result = scrobctl("doctor", "--json")

    found = {c["name"]: c for c in json_data(result.stdout)["checks"]}
    assert found["configuration secrets"]["status"] == "warn"
    assert found["configuration secrets"]["detail"] == "trakt.client_secret is in the config file"
    assert "s3cret" not in result.stdout


def test_doctor_before_first_use_says_the_database_does_not_exist_yet(data_dir: Path) -> None:
    result = scrobctl("doctor", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "does not exist yet" in checks(result)["database"]["detail"]
    assert not (data_dir / DB_NAME).exists(), "doctor created the database"


def test_doctor_reports_a_flush_lock_held_by_a_running_process(data_dir: Path) -> None:
    assert scrobctl("scrobble", input=TRACK).returncode == 0

    with exclusive(data_dir / FLUSH_LOCK_NAME):
        result = scrobctl("doctor", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    lock = checks(result)["flush lock"]
    assert "another `scrobctl flush` is running" in lock["detail"]
    assert f"pid {os.getpid()}" in lock["detail"]
    free = checks(scrobctl("doctor", "--json"))["flush lock"]
    assert free["detail"] == "free"


def test_doctor_warns_about_loose_permissions_with_the_chmod_that_fixes_them(
    data_dir: Path,
) -> None:
    assert scrobctl("scrobble", input=TRACK).returncode == 0
    data_dir.chmod(0o755)
    (data_dir / DB_NAME).chmod(0o644)

    result = scrobctl("doctor", "--json")

    found = checks(result)
    assert found["data folder"]["status"] == "warn"
    assert found["data folder"]["fix"] == f"chmod 700 {data_dir}"
    assert found[DB_NAME]["status"] == "warn"
    assert found[DB_NAME]["fix"] == f"chmod 600 {data_dir / DB_NAME}"


def test_doctor_full_checks_every_page_of_the_database(data_dir: Path) -> None:
    """A plain doctor checks the small tables (a million plays would take ten seconds, issue
    #25); --full runs integrity_check over the whole file."""
    assert scrobctl("scrobble", input=TRACK).returncode == 0

    result = scrobctl("doctor", "--full", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    found = {c["name"]: c for c in json_data(result.stdout)["checks"]}
    assert found["database integrity"]["detail"] == "integrity_check ok (every page)"


def test_doctor_full_reports_damaged_pages_with_a_fix(data_dir: Path) -> None:
    db = corrupt_pages_after_the_first(data_dir)
    before = digest(db)

    result = scrobctl("doctor", "--full")

    assert result.returncode == 1
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert "database" in failed
    assert digest(db) == before
