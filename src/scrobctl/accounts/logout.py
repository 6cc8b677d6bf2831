"""Logging out: revoke where the service supports it, forget the token, keep the queue."""

from __future__ import annotations

from dataclasses import dataclass

from scrobctl.errors import ScrobctlError
from scrobctl.runtime import Runtime
from scrobctl.store import connections, queue


@dataclass(frozen=True)
class LogoutResult:
    service: str
    profile: str
    was_connected: bool
    kept_jobs: int
    dropped_jobs: int
    revoke_error: str | None = None
    kind: str | None = None  # a named target's kind, for the login that brings it back


async def logout(runtime: Runtime, profile: str, service: str, *, drop_queue: bool) -> LogoutResult:
    """Forget the token and the connection; queued plays stay unless asked to drop them.

    A failed revoke (network down, token already dead) does not stop the local logout.
    """
    from scrobctl import kinds

    tokens = runtime.tokens()
    secret = tokens.get(profile, service)
    store = runtime.store()
    connection = connections.get_connection(store, profile, service)
    kind = kinds.KINDS.get(connection.kind if connection else service)
    revoke_error = None
    if kind is not None and kind.revoke and secret:
        try:  # at the target's own OAuth host, with its own app
            await kinds.load(kind.revoke)(runtime, profile, secret, service)
        except ScrobctlError as exc:
            revoke_error = str(exc)
    tokens.delete(profile, service)
    was_connected = connections.remove_connection(store, profile, service)
    pending = queue.select_ids(store, states=queue.PENDING, service=service, profile=profile)
    dropped = queue.drop(store, pending) if drop_queue and pending else 0
    return LogoutResult(
        service,
        profile,
        was_connected,
        len(pending) - dropped,
        dropped,
        revoke_error,
        connection.kind if connection else None,
    )
