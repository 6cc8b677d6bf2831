"""Trakt: device-code login, proactive refresh of rotating tokens, revoke.

Trakt refresh tokens are single-use (api-notes 0.2): the new pair is saved before anything uses
it, under a per-connection file lock, and a process that waited for the lock re-reads the store
instead of refreshing again with a token that is already spent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from scrobctl.accounts.common import (
    LoginFailed,
    LoginResult,
    LoginUI,
    SlowDown,
    app_credentials,
    poll,
)
from scrobctl.http import ServiceLimiter
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.services import trakt
from scrobctl.store import connections

if TYPE_CHECKING:
    from scrobctl.kinds import Link

MAX_POLL_INTERVAL = 60.0
# Refresh this long before expiry, but never more than a tenth of the lifetime: a one-day margin
# on one-day tokens made other clients refresh on every call (api-notes 2.2).
REFRESH_MARGIN = 3600.0


def _auth(
    runtime: Runtime, http: httpx.AsyncClient, app: dict[str, str], profile: str
) -> trakt.TraktAuth:
    return trakt.TraktAuth(
        str(runtime.settings.trakt.auth_url),
        app["client_id"],
        app["client_secret"],
        http,
        ServiceLimiter("trakt-auth", clock=runtime.clock),
        profile,
    )


def _client(
    runtime: Runtime,
    http: httpx.AsyncClient,
    app: dict[str, str],
    token: str,
    profile: str,
    refresh: Callable[[str], Awaitable[str]] | None = None,
    limiter: ServiceLimiter | None = None,
) -> trakt.TraktClient:
    """The one place a Trakt API client is built (login, and `connect` for everything else)."""
    return trakt.TraktClient(
        str(runtime.settings.trakt.api_url),
        app["client_id"],
        token,
        http,
        limiter or ServiceLimiter(trakt.SERVICE, clock=runtime.clock),
        profile,
        refresh=refresh,
    )


async def connect(link: Link) -> trakt.TraktClient:
    """A client with a fresh token; a 401 on it gets one refresh before "reconnect required"."""
    runtime, http, profile = link.runtime, link.http, link.target.profile
    token = await access_token(runtime, profile, http, secret=link.secret)
    app = app_credentials(runtime, trakt.SERVICE, trakt.APP_HELP, None)

    async def refresh(refused: str) -> str:
        return await access_token(runtime, profile, http, refused=refused)

    return _client(runtime, http, app, token, profile, refresh=refresh, limiter=link.limiter)


async def check(link: Link) -> str:
    """Who the stored token belongs to (`status --check`)."""
    return (await link.client.account()).username


async def login_trakt(runtime: Runtime, profile: str, ui: LoginUI) -> LoginResult:
    app = app_credentials(runtime, trakt.SERVICE, trakt.APP_HELP, ui)
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        auth = _auth(runtime, http, app, profile)
        code = await auth.device_code()
        ui.show_code(code.user_code, code.verification_url, code.expires_in)
        ui.offer_browser(code.verification_url)

        async def attempt() -> trakt.TokenSet | None:
            result = await auth.poll(code.device_code)
            if isinstance(result, trakt.TokenSet):
                return result
            if result is trakt.Poll.PENDING:
                return None
            if result is trakt.Poll.SLOW_DOWN:
                raise SlowDown
            raise LoginFailed(_POLL_FAILURES[result], "run `scrobctl login trakt` again")

        with ui.waiting("Waiting for you to approve the code on Trakt"):
            token_set = await poll(
                runtime.clock,
                attempt,
                interval=max(1, code.interval),
                expires_in=code.expires_in,
                slow_down=lambda i: min(i * 2, MAX_POLL_INTERVAL),
            )
        # Save first: if anything below fails, the login is not lost.
        tokens.set(profile, trakt.SERVICE, token_set.model_dump())
        account = await _client(runtime, http, app, token_set.access_token, profile).account()
    connections.save_login(
        runtime.store(), profile, trakt.SERVICE, account.username, token_set.expires_at
    )
    return LoginResult(trakt.SERVICE, profile, account.username, token_set.expires_at)


_POLL_FAILURES = {
    trakt.Poll.INVALID: "Trakt did not recognise the device code",
    trakt.Poll.USED: "the code was already used",
    trakt.Poll.EXPIRED: "the code expired before it was approved",
    trakt.Poll.DENIED: "the code was denied on Trakt",
}


def _needs_refresh(secret: dict, now: float) -> bool:
    expires_at = secret["created_at"] + secret["expires_in"]
    margin = min(REFRESH_MARGIN, secret["expires_in"] / 10)
    return now >= expires_at - margin


async def access_token(
    runtime: Runtime,
    profile: str,
    http: httpx.AsyncClient,
    *,
    refused: str | None = None,
    secret: dict[str, Any] | None = None,
) -> str:
    """A usable access token, refreshed at most once however many processes ask at the same time.

    `refused` is a token Trakt just answered 401 to: it is refreshed even before its expiry
    ("refresh once, then log in again"). A refused refresh marks the connection "reconnect
    required" and raises InvalidToken. `secret` is the stored one, when already read.
    """
    tokens = runtime.tokens()
    if secret is None:
        secret = runtime.secret(profile, trakt.SERVICE, "access_token")

    def due(current: dict) -> bool:
        if refused is not None and current["access_token"] == refused:
            return True
        return _needs_refresh(current, runtime.clock.now())

    if not due(secret):
        return secret["access_token"]
    lock_path = runtime.data_dir / f"refresh-{trakt.SERVICE}-{profile}.lock"
    with exclusive(lock_path, "token refresh", wait=True):
        secret = tokens.get(profile, trakt.SERVICE) or secret  # someone may have refreshed
        if not due(secret):
            return secret["access_token"]
        app = app_credentials(runtime, trakt.SERVICE, trakt.APP_HELP, None)
        try:
            fresh = await _auth(runtime, http, app, profile).refresh(secret["refresh_token"])
        except trakt.RefreshFailed as exc:
            connections.mark_reconnect_required(
                runtime.store(), profile, trakt.SERVICE, f"refresh refused; {exc.hint}"
            )
            raise
        tokens.set(profile, trakt.SERVICE, fresh.model_dump())
    connections.update_expiry(runtime.store(), profile, trakt.SERVICE, fresh.expires_at)
    return fresh.access_token


async def revoke(runtime: Runtime, token: str, profile: str) -> None:
    app = app_credentials(runtime, trakt.SERVICE, trakt.APP_HELP, None)
    async with runtime.http_client() as http:
        await _auth(runtime, http, app, profile).revoke(token)


async def revoke_secret(runtime: Runtime, profile: str, secret: dict[str, Any]) -> None:
    """On logout: the stored token is revoked."""
    await revoke(runtime, secret["access_token"], profile)
