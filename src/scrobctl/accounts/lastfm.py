"""Last.fm: desktop auth (api-notes A.2). Session keys never expire; error 9 means revoked."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx

from scrobctl.accounts.common import LoginFailed, LoginResult, LoginUI, app_credentials, poll
from scrobctl.errors import ServiceUnavailable, UsageError
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services import lastfm
from scrobctl.store import connections
from scrobctl.targets import Target

if TYPE_CHECKING:
    from scrobctl.kinds import Link

APP_HELP = "create an API account at https://www.last.fm/api/account/create"
POLL_INTERVAL = 5.0  # api-notes A.2: poll auth.getSession every 3-5 s
TOKEN_LIFETIME = 3600.0  # desktop tokens are valid for 60 minutes


# Self-hosted Last.fm-compatible servers do not check the API key or the signature (Maloja's
# apis/audioscrobbler.py never reads api_key or api_sig), so a target at its own URL signs with
# the user's Last.fm app when there is one, else with this key: the md5 of "scrobctl".
COMPAT_KEY = hashlib.md5(b"scrobctl").hexdigest()


def client(
    runtime: Runtime,
    http: httpx.AsyncClient,
    app: dict[str, str],
    profile: str,
    session_key: str | None = None,
    target: Target | None = None,
    limiter: ServiceLimiter | None = None,
) -> lastfm.LastfmClient:
    """The one place a Last.fm (or compatible server's) client is built."""
    url = target.api_url(runtime) if target else str(runtime.settings.lastfm.api_url)
    if limiter is None:
        limiter = target.limiter(runtime) if target else runtime.limiter(lastfm.SERVICE)
    return lastfm.LastfmClient(
        url, app["api_key"], app["api_secret"], http, limiter, session_key, profile
    )


def target_app(runtime: Runtime, target: Target | None, ui: LoginUI | None) -> dict[str, str]:
    """The API app a target signs with: the user's Last.fm app, or (a target at its own URL
    with none set up) COMPAT_KEY."""
    if target is None or not target.url:
        return app_credentials(runtime, lastfm.SERVICE, APP_HELP, ui)
    try:
        return app_credentials(runtime, lastfm.SERVICE, APP_HELP, None)
    except UsageError:
        return {"api_key": COMPAT_KEY, "api_secret": COMPAT_KEY}


async def login_lastfm_password(
    runtime: Runtime, target: Target, user: str, password: str
) -> LoginResult:
    """`auth.getMobileSession` with a user name and password, for servers with no desktop auth
    (Maloja, where the password is one of its API keys; also Libre.fm). The password is sent
    once in the POST body and never stored; only the session key is."""
    from scrobctl.accounts.server import detect_server

    app = target_app(runtime, target, None)
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        api = client(runtime, http, app, target.profile, target=target)
        data = await api.call(
            "auth.getMobileSession",
            {"username": user, "password": password},
            signed=True,
            post=True,
        )
        session = data.get("session")
        if not isinstance(session, dict) or not session.get("key"):
            raise ServiceUnavailable(
                target.name, "auth.getMobileSession answered without a session"
            )
        server = await detect_server(runtime, http, target)
    # Maloja's JSON session has no name (audioscrobbler.py l.63-64): the user name given is it.
    name = str(session.get("name") or user)
    tokens.set(target.profile, target.name, {"session_key": str(session["key"])})
    connections.save_login(
        runtime.store(),
        target.profile,
        target.name,
        name,
        kind=target.kind,
        url=target.url,
        server=server,
    )
    return LoginResult(target.name, target.profile, name, server=server)


async def login_lastfm(
    runtime: Runtime, profile: str, ui: LoginUI, target: Target | None = None
) -> LoginResult:
    """Desktop auth in the browser; `target` is the default one, or a second account on
    Last.fm itself (a named target without a URL of its own)."""
    target = target or Target(profile, lastfm.SERVICE, lastfm.SERVICE, None, None)
    app = app_credentials(runtime, lastfm.SERVICE, APP_HELP, ui)
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        api = client(runtime, http, app, profile, target=target)
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
    tokens.set(profile, target.name, {"session_key": session.key})
    connections.save_login(
        runtime.store(), profile, target.name, session.name, kind=target.kind, url=target.url
    )
    return LoginResult(target.name, profile, session.name)


async def connect(link: Link) -> lastfm.LastfmClient:
    """A client for the target; without a session key (history is public) it signs nothing."""
    target = link.target
    app = target_app(link.runtime, target, None)
    key = link.secret.get("session_key")
    return client(link.runtime, link.http, app, target.profile, key, target, link.limiter)


async def check(link: Link) -> str:
    """The session's user, from a signed `user.getInfo` (error 9 if the app was revoked)."""
    return await lastfm.user_name(link.client)
