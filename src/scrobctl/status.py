"""What `scrobctl status` reports, as plain dataclasses: rendered by the CLI or dumped with
--json (no pydantic: importing it and building the models cost more than `import typer`, issue
#25; every value is built here, so there is nothing to validate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrobctl.store import connections, job_counts
from scrobctl.store.connections import Connection
from scrobctl.store.plays import count_plays

if TYPE_CHECKING:  # only `status --check` needs the HTTP side (httpx: ~80 ms to import)
    from scrobctl.accounts.check import CheckResult
    from scrobctl.runtime import Runtime


@dataclass
class ConnectionStatus:
    profile: str
    service: str
    account: str | None
    enabled: bool
    status: str
    detail: str | None
    token_expires_at: datetime | None
    deferred_until: datetime | None
    checked: bool | None = None
    # The target's kind, its own URL (None: the configured one) and server type (issue #19).
    kind: str | None = None
    url: str | None = None
    server: str | None = None
    # Is the login's token in the store in use: "present", "missing" or "unavailable" (the
    # store cannot be read). The database alone cannot tell (issue 17).
    token: str = "present"


@dataclass
class LackingPlays:
    """Archived plays a target lacks (recorded before it was connected), and what sends them."""

    profile: str
    target: str
    plays: int
    command: str


@dataclass
class ImportStatus:
    """A history import: `done`, `running` (a process is at it now) or `interrupted` (it
    stopped, or its process was killed: the next `import` continues it)."""

    profile: str
    service: str
    state: str
    processed: int
    plays: int
    ratings: int
    finished_at: datetime | None
    detail: str | None
    command: str


@dataclass
class StatusReport:
    version: str
    data_dir: str
    database: str
    token_store: str
    connections: list[ConnectionStatus]
    queue: dict[str, dict[str, int]]
    plays: int
    lacking: list[LackingPlays] = field(default_factory=list)
    imports: list[ImportStatus] = field(default_factory=list)


# A pause stored by an older scrobctl from `Retry-After: 999...9` is infinite; shown as the
# latest time a datetime holds instead of crashing every `status` (issue #16).
LATEST_SHOWN = 253_402_214_400.0  # 9999-12-30


def _when(ts: float | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts if 0 <= ts <= LATEST_SHOWN else LATEST_SHOWN, UTC)


def _token(runtime: Runtime, connection: Connection) -> tuple[str, str | None]:
    """Whether the connection's token is really in the store in use, and if not, why."""
    from scrobctl import kinds, targets
    from scrobctl.errors import ScrobctlError, TokenMissing

    try:
        kinds.credentials(runtime, targets.from_connection(connection))
    except TokenMissing as exc:
        return "missing", f"{exc.reason}; {exc.hint}"
    except ScrobctlError as exc:
        return "unavailable", str(exc)
    return "present", None


def build_status(runtime: Runtime, checks: list[CheckResult] | None = None) -> StatusReport:
    """The report; with `checks` (from `status --check`), each connection says how it fared."""
    from scrobctl import __version__

    store = runtime.store()
    now = runtime.clock.now()
    checked = {(r.profile, r.service): r for r in checks or []}
    rows = []
    for c in connections.list_connections(store):
        check = checked.get((c.profile, c.service))
        paused = c.deferred_until if c.deferred_until and c.deferred_until > now else None
        token, token_detail = _token(runtime, c)
        rows.append(
            ConnectionStatus(
                profile=c.profile,
                service=c.service,
                account=c.account,
                enabled=c.enabled,
                status=c.status,
                detail=(check.detail if check and check.detail else None)
                or token_detail
                or c.status_detail,
                token_expires_at=_when(c.token_expires_at),
                deferred_until=_when(paused),
                checked=check.ok if check else None,
                kind=c.kind,
                url=c.url,
                server=c.server,
                token=token,
            )
        )
    counts = job_counts.counts(store)
    full = {
        service: {s: by_state.get(s, 0) for s in job_counts.STATES}
        for service, by_state in counts.items()
    }
    plays = count_plays(store)
    from scrobctl.scrobble.archived import lacking

    gaps = [
        LackingPlays(profile=g.profile, target=g.target, plays=g.plays, command=g.command)
        for g in lacking(runtime)
    ]
    return StatusReport(
        imports=_imports(runtime),
        version=__version__,
        data_dir=str(runtime.data_dir),
        database=str(runtime.db_path),
        token_store=runtime.settings.token_store,
        connections=rows,
        queue=full,
        plays=plays,
        lacking=gaps,
    )


def _imports(runtime: Runtime) -> list[ImportStatus]:
    """Each history import as it really is: a "running" row whose process no longer holds
    its lock was killed (SIGKILL, a crash, a power cut) and is reported as interrupted."""
    from scrobctl.lock import held
    from scrobctl.paths import import_lock
    from scrobctl.store.checkpoints import INTERRUPTED, RUNNING, list_imports

    found = []
    for profile, service, finished_at, checkpoint in list_imports(runtime.store()):
        state, detail = checkpoint.state, checkpoint.detail
        if state == RUNNING and not held(import_lock(runtime.data_dir, profile, service)):
            state, detail = INTERRUPTED, "its process was killed or crashed"
        suffix = "" if profile == "default" else f" --profile {profile}"
        found.append(
            ImportStatus(
                profile=profile,
                service=service,
                state=state,
                processed=checkpoint.processed,
                plays=int(checkpoint.counts.get("plays", 0)),
                ratings=int(checkpoint.counts.get("ratings", 0)),
                finished_at=_when(finished_at) if state == "done" else None,
                detail=detail,
                command=f"scrobctl import {service}{suffix}",
            )
        )
    return found
