"""Typed errors and exit codes.

Every layer raises one of these; the CLI's single handler turns them into one line on stderr and
the exit code from DESIGN.md.
"""

from __future__ import annotations

import errno
import math
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    RECONNECT = 3
    LOCKED = 4
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class ScrobctlError(Exception):
    """An error the user can act on: a message and, where there is one, the next step."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(ScrobctlError):
    exit_code = ExitCode.USAGE


class ConfigError(ScrobctlError):
    exit_code = ExitCode.USAGE


class StoreError(ScrobctlError):
    """The database cannot be used as it is (corrupt, foreign, or newer than this scrobctl)."""


class TokenStoreUnavailable(ScrobctlError):
    """No usable place to keep tokens (typically: no Secret Service on a headless machine)."""


class NoKeyring(TokenStoreUnavailable):
    """No keyring backend at all: a configuration problem, so exit 2 (README "Exit codes")."""

    exit_code = ExitCode.USAGE


class LockHeld(ScrobctlError):
    exit_code = ExitCode.LOCKED


class ServiceError(ScrobctlError):
    """Something a service answered (or failed to answer). `service` names it in every message."""

    def __init__(self, service: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{service}: {message}", hint)
        self.service = service
        self.reason = message  # without the service name, for lines that already show it


class ServiceUnavailable(ServiceError):
    """Transient: 5xx, timeouts, resets, garbled bodies. Worth retrying later."""


# The longest pause any server can impose on us (issue #16: `Retry-After` of 400 nines, `inf`
# or ten years overflowed the clock, or parked a service until 2036).
MAX_PAUSE = 86_400.0


class RateLimited(ServiceError):
    """The service asked us to wait `retry_after` seconds. Not a failure: no attempt is spent."""

    def __init__(self, service: str, retry_after: float, message: str | None = None) -> None:
        if math.isnan(retry_after):
            retry_after = MAX_PAUSE
        retry_after = min(max(0.0, retry_after), MAX_PAUSE)
        super().__init__(service, message or f"rate limited, retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class InvalidToken(ServiceError):
    """The stored credentials were refused: the connection needs `scrobctl login` again."""

    exit_code = ExitCode.RECONNECT


class TokenMissing(ServiceError):
    """The token store in use has no token for a connection the database knows. That is this
    run's problem (another store, an emptied file), not a fact about the account: nothing is
    marked, the queue waits, and the message names both stores and the fix."""

    exit_code = ExitCode.RECONNECT


class BadRequest(ServiceError):
    """The service refused this request as malformed. Retrying it unchanged cannot help."""


class AccountProblem(ServiceError):
    """The account or app cannot be used as it is (over a limit, locked, needs VIP, key
    suspended): retrying cannot help until the user acts, so the connection waits for them."""


class ItemNotFound(ServiceError):
    """The service does not know the item. Recorded as the item's outcome, never retried."""


def login_hint(service: str, profile: str = "default", kind: str | None = None) -> str:
    """The exact command that reconnects a target, for every message that needs one. A named
    target (`service` is its name) is logged in to through its kind: `login listenbrainz --name
    maloja`, which keeps the URL it has."""
    suffix = "" if profile == "default" else f" --profile {profile}"
    if kind and kind != service:
        return f"run `scrobctl login {kind} --name {service}{suffix}`"
    return f"run `scrobctl login {service}{suffix}`"


class FilesystemError(ScrobctlError):
    """The disk or a file said no (full, read-only, not permitted, not a folder). Nothing was
    lost: what was written before is committed, what was not is still where it came from."""


# What each errno the data folder's files meet means for the user, and the fix.
_FILESYSTEM: tuple[tuple[tuple[int, ...], str, str], ...] = (
    (
        (errno.ENOSPC, errno.EDQUOT),
        "the disk is full (writing {where}); nothing was lost",
        "free some space, then run the command again",
    ),
    (
        (errno.EROFS,),
        "{where} is on a read-only file system",
        "make it writable, or set SCROBCTL_DATA_DIR to a writable folder",
    ),
    (
        (errno.EACCES, errno.EPERM),
        "permission denied for {where}",
        "check its owner and mode (`ls -ld`), or set SCROBCTL_DATA_DIR to a folder of yours",
    ),
    (
        (errno.EEXIST, errno.ENOTDIR),
        "{where} (or a folder above it) is not a folder",
        "move it away, or set SCROBCTL_DATA_DIR to a folder",
    ),
    (
        (errno.EISDIR,),
        "{where} is a folder where scrobctl keeps a file",
        "move it away, or set SCROBCTL_DATA_DIR to another folder",
    ),
    (
        (errno.ENOENT, errno.ELOOP),
        "{where} cannot be reached (a dangling symbolic link, or a missing folder)",
        "fix the link, or set SCROBCTL_DATA_DIR to a folder",
    ),
)


def filesystem_error(exc: OSError) -> FilesystemError:
    """One true sentence for an OSError: a full disk is not a corrupt database."""
    where = exc.filename or "a file in the data folder"
    for codes, message, hint in _FILESYSTEM:
        if exc.errno in codes:
            return FilesystemError(message.format(where=where), hint)
    return FilesystemError(f"{where}: {exc.strerror or type(exc).__name__}")


def database_error(exc: BaseException, path: object = None) -> ScrobctlError:
    """sqlite3's errors by what they mean for the user; only a damaged file is "corrupt"."""
    text = str(exc)
    where = path or "the database"
    lowered = text.lower()
    if "disk is full" in lowered:
        return FilesystemError(
            f"the disk is full (writing {where}); nothing was lost",
            "free some space, then run the command again",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return FilesystemError(
            f"{where} is read-only ({text})",
            "check the mode and owner of the file and its folder, or the mount",
        )
    if "unable to open" in lowered and _read_only_mount(path):
        return FilesystemError(
            f"{where} is on a read-only file system (SQLite needs to write beside it)",
            "make it writable, or set SCROBCTL_DATA_DIR to a writable folder",
        )
    if "unable to open" in lowered:
        return FilesystemError(
            f"{where} cannot be opened ({text})",
            "check that it is a file you may read and write, in a folder you may write",
        )
    if "disk i/o error" in lowered:
        return FilesystemError(
            f"the disk failed while using {where} ({text})", "check the disk, then try again"
        )
    if "locked" in lowered or "busy" in lowered:
        return StoreError(f"{where} is busy ({text})", "try again in a moment")
    return StoreError(
        f"{where} cannot be used as a database ({text}); it was left as it is",
        "run `scrobctl doctor`, or move the file away",
    )


def _read_only_mount(path: object) -> bool:
    import os

    if path is None:
        return False
    try:
        return bool(os.statvfs(os.path.dirname(str(path)) or ".").f_flag & os.ST_RDONLY)
    except OSError:
        return False


def translate(exc: BaseException) -> ScrobctlError | None:
    """A typed error for failures that escape as library exceptions (a database that turns out
    corrupt after it was opened, a disk that fills up), so the user still gets one line, not a
    traceback."""
    import sqlite3

    if isinstance(exc, sqlite3.DatabaseError):
        return database_error(exc)
    if isinstance(exc, OSError):
        return filesystem_error(exc)
    return None
