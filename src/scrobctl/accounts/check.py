"""`status --check`: ask every service whether its stored credentials still work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from scrobctl import targets
from scrobctl.errors import InvalidToken, ScrobctlError, ServiceError, login_hint
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.targets import MALOJA, Target


@dataclass(frozen=True)
class CheckResult:
    profile: str
    service: str
    ok: bool
    account: str | None
    detail: str | None
    reconnect: bool


async def _listenbrainz(runtime: Runtime, profile: str, target: Target) -> str:
    from scrobctl.services import listenbrainz

    secret = runtime.secret(profile, target.name, "token")
    async with runtime.http_client() as http:
        client = listenbrainz.ListenBrainzClient(
            target.api_url(runtime),
            secret["token"],
            http,
            target.limiter(runtime.clock),
        )
        return (await client.validate_token()).user_name


async def _lastfm(runtime: Runtime, profile: str, target: Target) -> str:
    from scrobctl.accounts import lastfm

    if target.server == MALOJA:
        # Its audioscrobbler API has no user.getInfo (apis/audioscrobbler.py l.19-22).
        raise ScrobctlError(f"{target.label} cannot check a session without sending a play")
    return await lastfm.account(runtime, profile, target)


def _checkers() -> dict[str, Callable[[Runtime, str, Target], Awaitable[str]]]:
    from scrobctl.accounts import simkl, trakt

    return {
        "listenbrainz": _listenbrainz,
        "trakt": lambda runtime, profile, target: trakt.account(runtime, profile, target.name),
        "simkl": lambda runtime, profile, target: simkl.account(runtime, profile, target.name),
        "lastfm": _lastfm,
    }


async def check_connections(runtime: Runtime) -> list[CheckResult]:
    """Check each connection; refused credentials mark it "reconnect required" (jobs untouched)."""
    store = runtime.store()
    checkers = _checkers()
    results: list[CheckResult] = []
    for c in connections.list_connections(store):
        try:
            name = await checkers[c.kind](runtime, c.profile, targets.from_connection(c))
        except InvalidToken as exc:
            detail = f"{exc.reason}; {login_hint(c.service, c.profile, c.kind)}"
            connections.mark_reconnect_required(store, c.profile, c.service, detail)
            results.append(CheckResult(c.profile, c.service, False, c.account, detail, True))
            continue
        except ServiceError as exc:
            detail = f"{exc.reason}; {exc.hint}" if exc.hint else exc.reason
            results.append(CheckResult(c.profile, c.service, False, c.account, detail, False))
            continue
        except ScrobctlError as exc:
            results.append(CheckResult(c.profile, c.service, False, c.account, str(exc), False))
            continue
        connections.mark_ok(store, c.profile, c.service, name)
        results.append(CheckResult(c.profile, c.service, True, name, None, False))
    return results
