"""ListenBrainz: a user token, checked with `GET /1/validate-token` before it is stored."""

from __future__ import annotations

from scrobctl.accounts.common import LoginFailed, LoginResult
from scrobctl.errors import InvalidToken
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services import listenbrainz
from scrobctl.store import connections


async def login_listenbrainz(runtime: Runtime, profile: str, token: str) -> LoginResult:
    tokens = runtime.tokens()  # fail on a missing keyring before asking the network
    async with runtime.http_client() as http:
        limiter = ServiceLimiter(listenbrainz.SERVICE, clock=runtime.clock)
        client = listenbrainz.ListenBrainzClient(
            str(runtime.settings.listenbrainz.api_url), token, http, limiter
        )
        try:
            account = await client.validate_token()
        except InvalidToken:
            # Not "run `scrobctl login listenbrainz`": that is the command just run.
            raise LoginFailed(
                "listenbrainz: this token was refused; nothing was stored",
                "copy the user token again from https://listenbrainz.org/settings/ (or your"
                " server's settings page) and paste it whole",
            ) from None
    tokens.set(profile, listenbrainz.SERVICE, {"token": token})
    connections.save_login(runtime.store(), profile, listenbrainz.SERVICE, account.user_name)
    return LoginResult(listenbrainz.SERVICE, profile, account.user_name)
