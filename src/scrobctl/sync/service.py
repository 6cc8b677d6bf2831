"""The `import` use case: build the service's reader from the stored login, then run it."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from scrobctl import kinds, targets
from scrobctl.errors import InvalidToken, ServiceError, UsageError, login_hint
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.sync.importer import ImportProgress, ImportResult, run_import
from scrobctl.sync.pages import Reader
from scrobctl.sync.resolve import TmdbResolver


class MissingEndpoint(ServiceError):
    """The target's server does not offer the endpoint this needs; retrying cannot help."""


def not_logged_in(runtime: Runtime, name: str, profile: str) -> str:
    """No target of that name: a name typed wrong (`last.fm`) gets the closest kind or target,
    "did you mean", as a wrong choice does everywhere else (issue 17)."""
    import difflib

    message = f"not logged in to {name}"
    if name in targets.KINDS:
        return message
    names = list(targets.KINDS) + [
        c.name for c in connections.list_connections(runtime.store()) if c.profile == profile
    ]
    plain = "".join(ch for ch in name.lower() if ch.isalnum())
    close = difflib.get_close_matches(plain, names, n=1, cutoff=0.6)
    return f"{message}. Did you mean {close[0]!r}?" if close else message


async def _reader(runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient) -> Reader:
    connection = connections.get_connection(runtime.store(), profile, service)
    if connection is None:
        raise UsageError(not_logged_in(runtime, service, profile), login_hint(service, profile))
    target = targets.from_connection(connection)
    server = target.server_type
    if server is not None and server.history:
        raise MissingEndpoint(
            service,
            f"{target.label} at {target.api_url(runtime)} has no {server.history}, so there is"
            " nothing to import from it",
            f"export your scrobbles from {server.label} and import that file instead"
            " (see README, Self-hosted servers)",
        )
    # A named target's history is recorded under its name (the reader's `service`).
    return await kinds.build("reader", runtime, service, profile, http)


def _tmdb(runtime: Runtime, http: httpx.AsyncClient) -> TmdbResolver | None:
    """TMDb look-ups for video that arrives without a TMDb id, when an API key is set."""
    settings = runtime.settings.tmdb
    if not settings.api_key:
        return None
    from scrobctl.services.tmdb import TmdbClient

    limiter = runtime.limiter("tmdb")
    return TmdbResolver(TmdbClient(str(settings.api_url), settings.api_key, http, limiter))


async def import_history(
    runtime: Runtime,
    service: str,
    profile: str,
    *,
    full: bool = False,
    since: int | None = None,
    on_page: Callable[[ImportProgress], None] | None = None,
) -> ImportResult:
    """Import a service's history into the store. Refused credentials mark the connection
    "reconnect required" (its queued jobs stay untouched) and raise InvalidToken."""
    async with runtime.http_client() as http:
        try:
            reader = await _reader(runtime, service, profile, http)
            reader.service = service  # a named target's history is recorded under its name
            return await run_import(
                runtime,
                reader,
                profile,
                full=full,
                since=since,
                on_page=on_page,
                resolver=_tmdb(runtime, http),
            )
        except InvalidToken as exc:
            connection = connections.get_connection(runtime.store(), profile, service)
            hint = login_hint(service, profile, connection.kind if connection else None)
            detail = f"{exc.reason}; {hint}"
            connections.mark_reconnect_required(runtime.store(), profile, service, detail)
            raise InvalidToken(service, exc.reason, hint) from None
