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
from scrobctl.errors import login_hint
from scrobctl.http import ServiceLimiter
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.services import trakt
from scrobctl.store import connections
from scrobctl.targets import Target

if TYPE_CHECKING:
    from scrobctl.kinds import Link

# Refresh this long before expiry, but never more than a tenth of the lifetime: a one-day margin
# on one-day tokens made other clients refresh on every call (api-notes 2.2).
REFRESH_MARGIN = 3600.0


def _target(runtime: Runtime, profile: str, name: str) -> Target:
    from scrobctl.targets import resolve

    return resolve(runtime, profile, name)


def _auth(
    runtime: Runtime, http: httpx.AsyncClient, app: dict[str, str], target: Target
) -> trakt.TraktAuth:
    return trakt.TraktAuth(
        target.auth_url(runtime),
        app["client_id"],
        app["client_secret"],
        http,
        runtime.limiter("trakt-auth"),
        target.profile,
    )


def _client(
    runtime: Runtime,
    http: httpx.AsyncClient,
    app: dict[str, str],
    token: str,
    target: Target,
    refresh: Callable[[str], Awaitable[str]] | None = None,
    limiter: ServiceLimiter | None = None,
) -> trakt.TraktClient:
    return trakt.TraktClient(
        target.api_url(runtime),
        app["client_id"],
        token,
        http,
        limiter or target.limiter(runtime),
        target.profile,
        refresh=refresh,
    )


def app(runtime: Runtime, target: Target, ui: LoginUI | None = None) -> dict[str, str]:
    """The API app the target's requests go out with (its own at a URL of its own)."""
    return app_credentials(runtime, trakt.SERVICE, trakt.APP_HELP, ui, target)


async def connect(link: Link) -> trakt.TraktClient:
    """The target's client with a fresh token of its own, at its URL, with its app; a 401 on it
    gets one refresh before "reconnect required"."""
    runtime, http, target = link.runtime, link.http, link.target
    profile, name = target.profile, target.name
    token = await access_token(runtime, profile, http, secret=link.secret, name=name)

    async def refresh(refused: str) -> str:
        return await access_token(runtime, profile, http, refused=refused, name=name)

    return _client(runtime, http, app(runtime, target), token, target, refresh, link.limiter)


async def check(link: Link) -> str:
    """Who the stored token belongs to (`status --check`)."""
    return (await link.client.account()).username


async def login_trakt(
    runtime: Runtime, profile: str, ui: LoginUI, target: Target | None = None
) -> LoginResult:
    target = target or Target(profile, trakt.SERVICE, trakt.SERVICE, None, None)
    again = login_hint(target.name, profile, target.kind).removeprefix("run ")
    credentials = app(runtime, target, ui)
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        auth = _auth(runtime, http, credentials, target)
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
            raise LoginFailed(_POLL_FAILURES[result], f"run {again} again")

        where = "Trakt" if target.name == trakt.SERVICE else target.name
        with ui.waiting(f"Waiting for you to approve the code on {where}"):
            token_set = await poll(
                runtime.clock,
                attempt,
                interval=max(1, code.interval),
                expires_in=code.expires_in,
            )
        # Save first: if anything below fails, the login is not lost.
        tokens.set(profile, target.name, token_set.model_dump())
        client = _client(runtime, http, credentials, token_set.access_token, target)
        account = await client.account()
    connections.save_login(
        runtime.store(),
        profile,
        target.name,
        account.username,
        token_set.expires_at,
        kind=target.kind,
        url=target.url,
    )
    return LoginResult(target.name, profile, account.username, token_set.expires_at)


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
    name: str = trakt.SERVICE,
    secret: dict[str, Any] | None = None,
) -> str:
    """A usable access token of the target `name`, refreshed at most once however many
    processes ask at the same time.

    `refused` is a token Trakt just answered 401 to: it is refreshed even before its expiry
    ("refresh once, then log in again"). A refused refresh marks the connection "reconnect
    required" and raises InvalidToken. Each target refreshes with its own app at its own URL.
    `secret` is the stored one, when already read.
    """
    tokens = runtime.tokens()
    target = _target(runtime, profile, name)
    if secret is None:
        secret = runtime.secret(profile, name, "access_token", target.kind)

    def due(current: dict) -> bool:
        if refused is not None and current["access_token"] == refused:
            return True
        return _needs_refresh(current, runtime.clock.now())

    if not due(secret):
        return secret["access_token"]
    lock_path = runtime.data_dir / f"refresh-{name}-{profile}.lock"
    with exclusive(lock_path, "token refresh", wait=True):
        secret = tokens.get(profile, name) or secret  # someone may have refreshed
        if not due(secret):
            return secret["access_token"]
        try:
            fresh = await _auth(runtime, http, app(runtime, target), target).refresh(
                secret["refresh_token"]
            )
        except trakt.RefreshFailed as exc:
            hint = login_hint(name, profile, target.kind)
            connections.mark_reconnect_required(
                runtime.store(), profile, name, f"refresh refused; {hint}"
            )
            raise trakt.RefreshFailed(name, exc.reason, hint) from None
        tokens.set(profile, name, fresh.model_dump())
    connections.update_expiry(runtime.store(), profile, name, fresh.expires_at)
    return fresh.access_token


async def revoke(runtime: Runtime, token: str, profile: str, name: str = trakt.SERVICE) -> None:
    """Revoke at the target's own OAuth host, with its own app."""
    target = _target(runtime, profile, name)
    async with runtime.http_client() as http:
        await _auth(runtime, http, app(runtime, target), target).revoke(token)


async def revoke_secret(
    runtime: Runtime, profile: str, secret: dict[str, Any], name: str = trakt.SERVICE
) -> None:
    """On logout: the stored token is revoked, at the target's own OAuth host."""
    await revoke(runtime, secret["access_token"], profile, name)
