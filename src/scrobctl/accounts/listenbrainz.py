"""ListenBrainz: a user token, checked with `GET /1/validate-token` before it is stored.

The same login serves any target of the listenbrainz kind (a self-hosted ListenBrainz, a Maloja's
`/apis/listenbrainz`): the server type is found here and remembered with the connection.
"""

from __future__ import annotations

from scrobctl.accounts.common import LoginFailed, LoginResult
from scrobctl.accounts.server import detect_server
from scrobctl.errors import InvalidToken
from scrobctl.kinds import Link
from scrobctl.runtime import Runtime
from scrobctl.services import listenbrainz
from scrobctl.store import connections
from scrobctl.targets import Target


async def connect(link: Link) -> listenbrainz.ListenBrainzClient:
    """The one place a ListenBrainz client is built, for any target of the kind."""
    url = link.target.api_url(link.runtime)
    token = link.secret.get("token", "")
    return listenbrainz.ListenBrainzClient(url, token, link.http, link.limiter, link.target.name)


async def check(link: Link) -> str:
    """Who the token belongs to (`status --check`)."""
    return (await link.client.validate_token()).user_name


async def login_listenbrainz(
    runtime: Runtime, profile: str, token: str, target: Target | None = None
) -> LoginResult:
    target = target or Target(profile, listenbrainz.SERVICE, listenbrainz.SERVICE, None, None)
    tokens = runtime.tokens()  # fail on a missing keyring before asking the network
    async with runtime.http_client() as http:
        limiter = target.limiter(runtime)
        client = await connect(Link(runtime, target, http, limiter, {"token": token}))
        try:
            account = await client.validate_token()
        except InvalidToken:
            # Not "run `scrobctl login listenbrainz`": that is the command just run.
            raise LoginFailed(
                f"{target.name}: this token was refused; nothing was stored",
                "copy the user token again from https://listenbrainz.org/settings/ (or your"
                " server's settings page) and paste it whole",
            ) from None
        server = await detect_server(runtime, http, target)
    tokens.set(profile, target.name, {"token": token})
    connections.save_login(
        runtime.store(),
        profile,
        target.name,
        account.user_name,
        kind=target.kind,
        url=target.url,
        server=server,
    )
    return LoginResult(target.name, profile, account.user_name, server=server)
