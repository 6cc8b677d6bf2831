"""The `import` use case: build the service's reader from the stored login, then run it."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from scrobctl.errors import InvalidToken, UsageError, login_hint
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.sync.importer import ImportProgress, ImportResult, run_import
from scrobctl.sync.pages import Reader
from scrobctl.sync.resolve import TmdbResolver
from scrobctl.tokens import SECRET_KEY


async def _reader(runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient) -> Reader:
    connection = connections.get_connection(runtime.store(), profile, service)
    if connection is None:
        raise UsageError(f"not logged in to {service}", login_hint(service, profile))
    limiter = ServiceLimiter(service, clock=runtime.clock)
    now = runtime.clock.now()
    if service == "lastfm":  # its history is public: read with the API key, session or not
        secret = runtime.tokens().get(profile, service) or {}
    else:
        secret = runtime.secret(profile, service, SECRET_KEY.get(service, "token"))
    if service == "trakt":
        from scrobctl.accounts import trakt as account
        from scrobctl.accounts.common import app_credentials
        from scrobctl.services import trakt
        from scrobctl.sync.readers.trakt import TraktReader

        app = app_credentials(runtime, service, trakt.APP_HELP, None)
        token = await account.access_token(runtime, profile, http)

        async def refresh(refused: str) -> str:
            return await account.access_token(runtime, profile, http, refused=refused)

        client = trakt.TraktClient(
            str(runtime.settings.trakt.api_url),
            app["client_id"],
            token,
            http,
            limiter,
            profile,
            refresh=refresh,
        )
        return TraktReader(client, now)
    if service == "simkl":
        from scrobctl.accounts.common import app_credentials
        from scrobctl.accounts.simkl import client as simkl_client
        from scrobctl.services import simkl
        from scrobctl.sync.readers.simkl import SimklReader

        app = app_credentials(runtime, service, simkl.APP_HELP, None)
        return SimklReader(
            simkl_client(runtime, http, app["client_id"], profile, secret["access_token"])
        )
    if service == "lastfm":
        from scrobctl.accounts.common import app_credentials
        from scrobctl.accounts.lastfm import APP_HELP
        from scrobctl.accounts.lastfm import client as lastfm_client
        from scrobctl.sync.readers.lastfm import LastfmReader

        app = app_credentials(runtime, service, APP_HELP, None)
        api = lastfm_client(runtime, http, app, profile, secret.get("session_key"))
        return LastfmReader(api, connection.account or "", now)
    if service == "listenbrainz":
        from scrobctl.services import listenbrainz
        from scrobctl.sync.readers.listenbrainz import ListenBrainzReader

        client = listenbrainz.ListenBrainzClient(
            str(runtime.settings.listenbrainz.api_url), secret.get("token", ""), http, limiter
        )
        return ListenBrainzReader(client, connection.account or "", now)
    raise UsageError(f"unknown service {service!r}")


def _tmdb(runtime: Runtime, http: httpx.AsyncClient) -> TmdbResolver | None:
    """TMDb look-ups for video that arrives without a TMDb id, when an API key is set."""
    settings = runtime.settings.tmdb
    if not settings.api_key:
        return None
    from scrobctl.services.tmdb import TmdbClient

    limiter = ServiceLimiter("tmdb", clock=runtime.clock)
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
            detail = f"{exc.reason}; {login_hint(service, profile)}"
            connections.mark_reconnect_required(runtime.store(), profile, service, detail)
            raise InvalidToken(service, exc.reason, login_hint(service, profile)) from None
