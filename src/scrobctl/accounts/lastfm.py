"""Last.fm: desktop auth (api-notes A.2). Session keys never expire; error 9 means revoked."""

from __future__ import annotations

import httpx

from scrobctl.accounts.common import LoginFailed, LoginResult, LoginUI, app_credentials, poll
from scrobctl.errors import ServiceUnavailable
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services import lastfm
from scrobctl.store import connections

APP_HELP = "create an API account at https://www.last.fm/api/account/create"
POLL_INTERVAL = 5.0  # api-notes A.2: poll auth.getSession every 3-5 s
TOKEN_LIFETIME = 3600.0  # desktop tokens are valid for 60 minutes


def client(
    runtime: Runtime,
    http: httpx.AsyncClient,
    app: dict[str, str],
    profile: str,
    session_key: str | None = None,
) -> lastfm.LastfmClient:
    return lastfm.LastfmClient(
        str(runtime.settings.lastfm.api_url),
        app["api_key"],
        app["api_secret"],
        http,
        ServiceLimiter(lastfm.SERVICE, clock=runtime.clock),
        session_key,
        profile,
    )


async def login_lastfm(runtime: Runtime, profile: str, ui: LoginUI) -> LoginResult:
    app = app_credentials(runtime, lastfm.SERVICE, APP_HELP, ui)
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        api = client(runtime, http, app, profile)
        token = await api.get_token()
        url = api.auth_url(str(runtime.settings.lastfm.auth_url), token)
        ui.show_code(None, url, int(TOKEN_LIFETIME))
        ui.offer_browser(url)

        async def attempt() -> lastfm.Session | None:
            try:
                return await api.get_session(token)
            except lastfm.TokenNotAuthorized:
                return None
            except lastfm.TokenExpired:
                raise LoginFailed(
                    "the Last.fm token expired before it was approved",
                    "run `scrobctl login lastfm` again",
                ) from None
            except lastfm.LastfmError as exc:
                if exc.code != lastfm.AUTH_FAILED:
                    raise
                raise LoginFailed(
                    "Last.fm no longer accepts this login token (error 4)",
                    "run `scrobctl login lastfm` again",
                ) from None

        with ui.waiting("Waiting for you to allow access on Last.fm"):
            session = await poll(
                runtime.clock, attempt, interval=POLL_INTERVAL, expires_in=TOKEN_LIFETIME
            )
    tokens.set(profile, lastfm.SERVICE, {"session_key": session.key})
    connections.save_login(runtime.store(), profile, lastfm.SERVICE, session.name)
    return LoginResult(lastfm.SERVICE, profile, session.name)


async def account(runtime: Runtime, profile: str) -> str:
    """The session's user, from a signed `user.getInfo` (error 9 if the app was revoked)."""
    secret = runtime.secret(profile, lastfm.SERVICE, "session_key")
    app = app_credentials(runtime, lastfm.SERVICE, APP_HELP, None)
    async with runtime.http_client() as http:
        api = client(runtime, http, app, profile, secret["session_key"])
        data = await api.call("user.getInfo", signed=True, post=False)
    try:
        return str(data["user"]["name"])
    except (TypeError, KeyError):
        raise ServiceUnavailable(lastfm.SERVICE, "user.getInfo gave an unexpected answer") from None
