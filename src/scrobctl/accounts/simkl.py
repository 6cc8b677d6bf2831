"""Simkl: PIN login (api-notes 9.2). Tokens are long-lived, with no refresh."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from scrobctl.runtime import Runtime
from scrobctl.services import simkl
from scrobctl.store import connections
from scrobctl.targets import Target

if TYPE_CHECKING:
    from scrobctl.kinds import Link


def _default(profile: str) -> Target:
    return Target(profile, simkl.SERVICE, simkl.SERVICE, None, None)


def client(
    runtime: Runtime,
    http: httpx.AsyncClient,
    client_id: str,
    profile: str,
    token: str | None,
    target: Target | None = None,
    limiter: ServiceLimiter | None = None,
) -> simkl.SimklClient:
    target = target or _default(profile)
    return simkl.SimklClient(
        target.api_url(runtime),
        client_id,
        http,
        limiter or target.limiter(runtime),
        token,
        profile,
    )


def app(runtime: Runtime, target: Target, ui: LoginUI | None = None) -> dict[str, str]:
    """The API app the target's requests go out with (its own at a URL of its own)."""
    return app_credentials(runtime, simkl.SERVICE, simkl.APP_HELP, ui, target)


async def connect(link: Link) -> simkl.SimklClient:
    """The target's client: its URL, its app (its own at a URL of its own), its token."""
    client_id = app(link.runtime, link.target)["client_id"]
    token = link.secret["access_token"]
    return client(
        link.runtime, link.http, client_id, link.target.profile, token, link.target, link.limiter
    )


async def check(link: Link) -> str:
    """The user's name (`status --check`)."""
    return (await link.client.account()).name


async def login_simkl(
    runtime: Runtime, profile: str, ui: LoginUI, target: Target | None = None
) -> LoginResult:
    target = target or _default(profile)
    again = login_hint(target.name, profile, target.kind)
    where = "Simkl" if target.name == simkl.SERVICE else target.name
    client_id = app(runtime, target, ui)["client_id"]
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        anonymous = client(runtime, http, client_id, profile, None, target)
        pin = await anonymous.pin_code()
        ui.show_code(pin.user_code, pin.verification_url, pin.expires_in)
        ui.offer_browser(pin.verification_url)

        async def attempt() -> str | None:
            result = await anonymous.poll_pin(pin.user_code)
            if isinstance(result, str):
                return result
            if result is simkl.Pin.SLOW_DOWN:
                raise SlowDown
            if result is simkl.Pin.GONE:
                raise LoginFailed(f"the code is no longer valid on {where}", f"{again} again")
            return None

        with ui.waiting(f"Waiting for you to enter the code on {where}"):
            token = await poll(
                runtime.clock,
                attempt,
                interval=max(1, pin.interval),
                expires_in=pin.expires_in,
            )
        tokens.set(profile, target.name, {"access_token": token})
        name = (await client(runtime, http, client_id, profile, token, target).account()).name
    connections.save_login(
        runtime.store(), profile, target.name, name, kind=target.kind, url=target.url
    )
    return LoginResult(target.name, profile, name)
