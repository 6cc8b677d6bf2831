"""Logging in and out: validate credentials with the service, then keep them in the token store."""

from __future__ import annotations

from dataclasses import dataclass

from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services import listenbrainz
from scrobctl.store import connections, queue


@dataclass(frozen=True)
class LoginResult:
    service: str
    profile: str
    account: str


async def login_listenbrainz(runtime: Runtime, profile: str, token: str) -> LoginResult:
    """Check the token with `GET /1/validate-token` first; store nothing unless it is valid."""
    tokens = runtime.tokens()  # fail on a missing keyring before asking the network
    async with runtime.http_client() as http:
        limiter = ServiceLimiter(listenbrainz.SERVICE, clock=runtime.clock)
        client = listenbrainz.ListenBrainzClient(
            str(runtime.settings.listenbrainz.api_url), token, http, limiter
        )
        account = await client.validate_token()
    tokens.set(profile, listenbrainz.SERVICE, {"token": token})
    connections.save_login(runtime.store(), profile, listenbrainz.SERVICE, account.user_name)
    return LoginResult(listenbrainz.SERVICE, profile, account.user_name)


@dataclass(frozen=True)
class LogoutResult:
    service: str
    profile: str
    was_connected: bool
    kept_jobs: int
    dropped_jobs: int


def logout(runtime: Runtime, profile: str, service: str, *, drop_queue: bool) -> LogoutResult:
    """Forget the token and the connection; queued plays stay unless asked to drop them."""
    runtime.tokens().delete(profile, service)
    store = runtime.store()
    was_connected = connections.remove_connection(store, profile, service)
    pending = queue.select_ids(store, states=queue.PENDING, service=service, profile=profile)
    dropped = queue.drop(store, pending) if drop_queue and pending else 0
    return LogoutResult(service, profile, was_connected, len(pending) - dropped, dropped)
