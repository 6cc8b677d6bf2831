"""`scrobctl doctor`: look at everything scrobctl depends on, change nothing, say what to do."""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scrobctl import paths
from scrobctl.errors import ScrobctlError

if TYPE_CHECKING:
    from scrobctl.config import Settings

OK, WARN, FAIL = "ok", "warn", "fail"
SECRET_KEYS = ("client_secret", "api_secret")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None


def _config() -> tuple[list[Check], Settings | None]:
    from scrobctl.config import file_values, load_settings

    path = paths.config_file()
    checks: list[Check] = []
    try:
        settings = load_settings()
    except ScrobctlError as exc:
        return [Check("configuration", FAIL, exc.message, exc.hint)], None
    where = str(path) if path.exists() else f"{path} (absent: defaults and environment)"
    checks.append(Check("configuration", OK, f"settings read from the environment and {where}"))
    if os.environ.get("SCROBCTL_CONFIG") and not path.exists():
        checks.append(
            Check(
                "configuration file",
                WARN,
                f"SCROBCTL_CONFIG names {path}, which does not exist",
                "create it, or unset SCROBCTL_CONFIG to use the default file",
            )
        )
    if path.exists():
        try:
            data = file_values()
        except (OSError, ValueError):  # read a moment ago by load_settings: a race
            data = {}
        leaked = [
            f"{section}.{key}"
            for section, values in data.items()
            if isinstance(values, dict)
            for key in SECRET_KEYS
            if values.get(key)
        ]
        if leaked:
            checks.append(
                Check(
                    "configuration secrets",
                    WARN,
                    f"{', '.join(leaked)} is in the config file",
                    "remove it there; `scrobctl login` keeps app secrets in the token store",
                )
            )
    return checks, settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _data_dir(data_dir: Path) -> list[Check]:
    if not data_dir.exists():
        return [Check("data folder", OK, f"{data_dir} does not exist yet (created on first use)")]
    checks = []
    mode = _mode(data_dir)
    if mode & 0o077:
        checks.append(
            Check("data folder", WARN, f"{data_dir} is mode {mode:o}", f"chmod 700 {data_dir}")
        )
    else:
        checks.append(Check("data folder", OK, f"{data_dir} (mode {mode:o})"))
    for name in (paths.DB_NAME, paths.TOKEN_FILE_NAME):
        file = data_dir / name
        if file.exists() and _mode(file) & 0o077:
            checks.append(Check(name, WARN, f"{file} is mode {_mode(file):o}", f"chmod 600 {file}"))
    return checks


def _database(path: Path, full: bool = False) -> list[Check]:
    from scrobctl.store.db import SQLITE_HEADER
    from scrobctl.store.migrations import MIGRATIONS
    from scrobctl.store.probe import health

    if not path.exists():
        return [Check("database", OK, f"{path} does not exist yet (created on first use)")]
    with path.open("rb") as fh:
        if fh.read(len(SQLITE_HEADER)) not in (SQLITE_HEADER, b""):
            return [
                Check(
                    "database",
                    FAIL,
                    f"{path} is not an SQLite database",
                    "move it away; scrobctl starts a new one (it never overwrites the file)",
                )
            ]
    try:
        version, result, tables, how = health(path, full)
    except sqlite3.DatabaseError as exc:
        return [Check("database", FAIL, f"{path} cannot be read ({exc})", "restore a backup")]
    if (version == 0 and tables - {"_migrations"}) or (version > 0 and "_migrations" not in tables):
        return [Check("database", FAIL, f"{path} holds another program's tables", "move it away")]
    checks = []
    if result != "ok":
        checks.append(
            Check(
                "database integrity",
                FAIL,
                f"{how}: {result}",
                f"back up {path}, then try `sqlite3 {path} .recover`",
            )
        )
    else:
        checks.append(Check("database integrity", OK, _checked(how)))
    if version > len(MIGRATIONS):
        checks.append(
            Check("schema", FAIL, f"schema {version} is newer than this scrobctl", "upgrade")
        )
    elif version < len(MIGRATIONS):
        checks.append(
            Check("schema", OK, f"schema {version}; it is upgraded to {len(MIGRATIONS)} on use")
        )
    else:
        checks.append(Check("schema", OK, f"schema {version} (current)"))
    return checks


def _lock(data_dir: Path) -> Check:
    from scrobctl.errors import LockHeld
    from scrobctl.lock import exclusive

    lock = data_dir / paths.FLUSH_LOCK_NAME
    if not lock.exists():
        return Check("flush lock", OK, "free")
    try:
        with exclusive(lock):
            pass
    except LockHeld as exc:
        return Check("flush lock", OK, exc.message.replace("; nothing was done", ""))
    return Check("flush lock", OK, "free")


def _token_store(kind: str, data_dir: Path) -> Check:
    if kind == "file":
        file = data_dir / paths.TOKEN_FILE_NAME
        mode = f"mode {_mode(file):o}" if file.exists() else "not written yet"
        return Check(
            "token store",
            WARN,
            f"file store: {file} (unencrypted, {mode})",
            "use the keyring where a Secret Service is available",
        )
    from scrobctl.tokens import KeyringStore

    try:
        store = KeyringStore()
        store.get("@doctor", "probe")
    except ScrobctlError as exc:
        return Check("token store", FAIL, exc.message, exc.hint)
    import keyring

    return Check("token store", OK, f"keyring: {type(keyring.get_keyring()).__module__}")


def _logins(kind: str, data_dir: Path) -> list[Check]:
    """Each connection the database knows must have its token in the store in use: the
    database alone says "ok" for an emptied token file (issue 17). Read-only: an entry from
    before keyring scoping is looked at, not moved."""
    from scrobctl.store.probe import logins
    from scrobctl.tokens import SECRET_KEY, FileStore, KeyringStore, missing

    path = data_dir / paths.DB_NAME
    if not path.exists():
        return []
    try:
        rows, scope = logins(path)
    except sqlite3.DatabaseError:
        return []  # the database checks above say what is wrong with it
    if not rows:
        return []
    try:
        if kind == "file":
            stores: list = [FileStore(data_dir / paths.TOKEN_FILE_NAME, lambda _: None)]
        else:
            stores = [KeyringStore(scope), KeyringStore()] if scope else [KeyringStore()]
        checks = []
        for profile, service, target_kind in rows:
            key = SECRET_KEY.get(target_kind, "token")
            name = service if profile == "default" else f"{service} ({profile})"
            if any((s.get(profile, service) or {}).get(key) for s in stores):
                checks.append(Check(f"login {name}", OK, f"token in the {kind}"))
            else:
                exc = missing(kind, data_dir, service, profile, target_kind)
                checks.append(Check(f"login {name}", FAIL, exc.reason, exc.hint))
        return checks
    except ScrobctlError as exc:
        return [Check("logins", FAIL, exc.message, exc.hint)]


def _checked(how: str) -> str:
    from scrobctl.store.probe import LARGE_TABLES

    if how == "integrity_check":
        return "integrity_check ok (every page)"
    return (
        f"quick_check ok (all but the large tables: {', '.join(LARGE_TABLES)};"
        " `scrobctl doctor --full` reads every page)"
    )


def run_checks(full: bool = False) -> list[Check]:
    checks, settings = _config()
    if settings is not None:
        data_dir, kind = settings.data_dir, settings.token_store
    else:  # a broken config: still look at the rest
        data_dir, kind = paths.data_dir(), os.environ.get("SCROBCTL_TOKEN_STORE", "keyring")
    checks += _data_dir(data_dir)
    checks += _database(data_dir / paths.DB_NAME, full)
    checks.append(_lock(data_dir))
    checks.append(_token_store(kind, data_dir))
    checks += _logins(kind, data_dir)
    return checks
