"""`status --check`: ask every service whether its stored credentials still work."""

from __future__ import annotations

from dataclasses import dataclass

from scrobctl import kinds, targets
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


async def check_connections(runtime: Runtime) -> list[CheckResult]:
    """Check each connection; refused credentials mark it "reconnect required" (jobs untouched)."""
    store = runtime.store()
    results: list[CheckResult] = []
    for c in connections.list_connections(store):
        try:
            name = await kinds.account(runtime, targets.from_connection(c))
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
