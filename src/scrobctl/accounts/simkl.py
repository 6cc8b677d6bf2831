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
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services import simkl
from scrobctl.store import connections

if TYPE_CHECKING:
    from scrobctl.kinds import Link

MAX_POLL_INTERVAL = 60  # "Slow down" doubles the wait between PIN polls, up to this


def client(
    runtime: Runtime,
    http: httpx.AsyncClient,
    client_id: str,
    profile: str,
    token: str | None,
    limiter: ServiceLimiter | None = None,
) -> simkl.SimklClient:
    """The one place a Simkl client is built (login, and `connect` for everything else)."""
    return simkl.SimklClient(
        str(runtime.settings.simkl.api_url),
        client_id,
        http,
        limiter or ServiceLimiter(simkl.SERVICE, clock=runtime.clock),
        token,
        profile,
    )


async def connect(link: Link) -> simkl.SimklClient:
    app = app_credentials(link.runtime, simkl.SERVICE, simkl.APP_HELP, None)
    token = link.secret["access_token"]
    return client(
        link.runtime, link.http, app["client_id"], link.target.profile, token, link.limiter
    )


async def check(link: Link) -> str:
    """The user's name (`status --check`)."""
    return (await link.client.account()).name


async def login_simkl(runtime: Runtime, profile: str, ui: LoginUI) -> LoginResult:
    app = app_credentials(runtime, simkl.SERVICE, simkl.APP_HELP, ui)
    tokens = runtime.tokens()
    async with runtime.http_client() as http:
        anonymous = client(runtime, http, app["client_id"], profile, None)
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
                raise LoginFailed(
                    "the code is no longer valid on Simkl", "run `scrobctl login simkl` again"
                )
            return None

        with ui.waiting("Waiting for you to enter the code on Simkl"):
            token = await poll(
                runtime.clock,
                attempt,
                interval=max(1, pin.interval),
                expires_in=pin.expires_in,
                slow_down=lambda i: min(i * 2, MAX_POLL_INTERVAL),
            )
        tokens.set(profile, simkl.SERVICE, {"access_token": token})
        name = (await client(runtime, http, app["client_id"], profile, token).account()).name
    connections.save_login(runtime.store(), profile, simkl.SERVICE, name)
    return LoginResult(simkl.SERVICE, profile, name)
