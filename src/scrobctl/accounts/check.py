"""`status --check`: ask every service whether its stored credentials still work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from scrobctl.errors import InvalidToken, ScrobctlError, ServiceError, login_hint
from scrobctl.runtime import Runtime
from scrobctl.store import connections


@dataclass(frozen=True)
class CheckResult:
    profile: str
    service: str
    ok: bool
    account: str | None
    detail: str | None
    reconnect: bool


async def _listenbrainz(runtime: Runtime, profile: str) -> str:
    from scrobctl.http import ServiceLimiter
    from scrobctl.services import listenbrainz

    secret = runtime.secret(profile, listenbrainz.SERVICE, "token")
    async with runtime.http_client() as http:
        client = listenbrainz.ListenBrainzClient(
            str(runtime.settings.listenbrainz.api_url),
            secret["token"],
            http,
            ServiceLimiter(listenbrainz.SERVICE, clock=runtime.clock),
        )
        return (await client.validate_token()).user_name


def _checkers() -> dict[str, Callable[[Runtime, str], Awaitable[str]]]:
    from scrobctl.accounts import lastfm, simkl, trakt

    return {
        "listenbrainz": _listenbrainz,
        "trakt": trakt.account,
        "simkl": simkl.account,
        "lastfm": lastfm.account,
    }


async def check_connections(runtime: Runtime) -> list[CheckResult]:
    """Check each connection; refused credentials mark it "reconnect required" (jobs untouched)."""
    store = runtime.store()
    checkers = _checkers()
    results: list[CheckResult] = []
    for c in connections.list_connections(store):
        try:
            name = await checkers[c.service](runtime, c.profile)
        except InvalidToken as exc:
            detail = f"{exc.reason}; {login_hint(c.service, c.profile)}"
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
