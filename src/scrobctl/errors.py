"""Typed errors and exit codes.

Every layer raises one of these; the CLI's single handler turns them into one line on stderr and
the exit code from DESIGN.md.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    RECONNECT = 3
    LOCKED = 4


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


class RateLimited(ServiceError):
    """The service asked us to wait `retry_after` seconds. Not a failure: no attempt is spent."""

    def __init__(self, service: str, retry_after: float, message: str | None = None) -> None:
        super().__init__(service, message or f"rate limited, retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class InvalidToken(ServiceError):
    """The stored credentials were refused: the connection needs `scrobctl login` again."""

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


def translate(exc: BaseException) -> ScrobctlError | None:
    """A typed error for failures that escape as library exceptions (a database that turns out
    corrupt after it was opened), so the user still gets one line, not a traceback."""
    import sqlite3

    if isinstance(exc, sqlite3.DatabaseError):
        return StoreError(
            f"the database cannot be used ({exc}); it was left as it is",
            "run `scrobctl doctor`",
        )
    return None
