"""The `scrobble` use case: read events, queue plays, and say which connections need attention."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from scrobctl.errors import login_hint
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import COMMIT_EVERY_PAUSED, Ingest, IngestSummary
from scrobctl.scrobble.events import Event, Line, Pause, read_events_and_pauses
from scrobctl.scrobble.routing import routes
from scrobctl.scrobble.rules import below_threshold
from scrobctl.store import connections


@dataclass
class IngestResult:
    summary: IngestSummary
    reconnect: list[str] = field(default_factory=list)
    starts: dict[str, Event] = field(default_factory=dict)
    routes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    unrouted: list[str] = field(default_factory=list)  # why plays were recorded only


def ingest_events(runtime: Runtime, stream: BinaryIO, *, dry_run: bool = False) -> IngestResult:
    """Queue the plays. The latest start event of each profile comes back in `starts`, for
    `nowplaying.send_now_playing` (nothing is announced on a dry run)."""
    lines = read_events_and_pauses(stream)
    return ingest_lines(runtime, lines, dry_run=dry_run, commit_every=COMMIT_EVERY_PAUSED)


def ingest_lines(
    runtime: Runtime,
    lines: Iterable[Line | Pause],
    *,
    dry_run: bool = False,
    source: str = "stdin",
    rule: Callable[[Event], str | None] = below_threshold,
    commit_every: int | None = None,
) -> IngestResult:
    """The same, for a source that builds its events in Python (a webhook, a player): routing
    is read afresh, so a login made meanwhile counts from the next call on."""
    store = runtime.store()
    known = connections.list_connections(store)
    table = routes(runtime.settings, known)
    ingest = Ingest(
        store, table, dry_run=dry_run, source=source, rule=rule, commit_every=commit_every
    )
    summary = ingest.run(lines)
    waiting = [
        f"{c.service} needs a new login; its plays wait in the queue: "
        + login_hint(c.service, c.profile, c.kind)
        for c in known
        if c.status == connections.RECONNECT_REQUIRED and summary.jobs.get(c.service)
    ]
    unrouted = _unrouted(summary, known, table, dry_run)
    return IngestResult(summary, waiting, {} if dry_run else ingest.starts, table, unrouted)


# Who takes what, for the advice in a "recorded only" line.
_SUGGEST = {
    "track": "listenbrainz",
    "podcast": "listenbrainz",
    "movie": "trakt",
    "episode": "trakt",
}


def _unrouted(
    summary: IngestSummary,
    known: list[connections.Connection],
    table: dict[str, dict[str, list[str]]],
    dry_run: bool,
) -> list[str]:
    """One line per (profile, type) whose plays went to no target: how many, and why."""
    lines = []
    profiles = sorted({c.profile for c in known})
    verb = "would be recorded" if dry_run else "recorded"
    for (profile, kind), n in sorted(summary.unrouted.items()):
        plays = f"{n} {kind} play" + ("" if n == 1 else "s")
        hint = login_hint(_SUGGEST.get(kind, "listenbrainz"), profile)
        if not known:
            why = f"no service is logged in; {hint} (it offers to queue them)"
        elif profile not in table:
            others = ", ".join(profiles)
            why = (
                f"profile {profile!r} has no logins (profiles with logins: {others});"
                f' check the event\'s "profile", or {hint}'
            )
        else:
            mine = sorted(c.service for c in known if c.profile == profile)
            why = (
                f"no service of profile {profile!r} takes {kind}s (logged in: {', '.join(mine)};"
                f" see the profile's routes); {hint}"
            )
        lines.append(f"{plays} {verb} only, sent nowhere: {why}")
    return lines
