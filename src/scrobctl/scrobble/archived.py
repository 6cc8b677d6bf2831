"""Plays in the archive that a target lacks, and queueing them: `status` shows the count and
the `sync` command that sends them (issue 21); `login --queue-archived` still queues them at
once, without first reading the target's history as `sync` does."""

from __future__ import annotations

from dataclasses import dataclass

from scrobctl.runtime import Runtime
from scrobctl.scrobble.routing import routes
from scrobctl.store import connections
from scrobctl.store.lacking import count_lacking, queue_lacking


@dataclass(frozen=True)
class Lacking:
    profile: str
    target: str  # a target name (issue 19)
    plays: int
    kind: str | None = None  # the target's kind, when it is not named after it

    @property
    def command(self) -> str:
        suffix = "" if self.profile == "default" else f" --profile {self.profile}"
        return f"scrobctl sync --to {self.target}{suffix}"


def _kinds(runtime: Runtime, profile: str, target: str) -> list[str]:
    table = routes(runtime.settings, connections.list_connections(runtime.store()))
    return [kind for kind, targets in table.get(profile, {}).items() if target in targets]


def lacking(runtime: Runtime) -> list[Lacking]:
    """Per connected target, how many archived plays it lacks (only targets lacking some)."""
    found = []
    for c in connections.list_connections(runtime.store()):
        n = _count(runtime, c)
        if n:
            found.append(Lacking(c.profile, c.service, n, c.kind))
    return found


def _count(runtime: Runtime, c: connections.Connection | None) -> int:
    """Once none is left the connection remembers it: plays recorded later were routed at
    ingest, so a big archive is not searched on every `status`."""
    if c is None or not c.enabled or c.connected_at is None:
        return 0
    if c.settings.get(connections.ARCHIVED_DONE):
        return 0
    store = runtime.store()
    kinds = _kinds(runtime, c.profile, c.service)
    n = count_lacking(store, c.profile, c.service, kinds, c.connected_at)
    if n == 0:
        connections.mark_archived_done(store, c.profile, c.service)
    return n


def count_for(runtime: Runtime, profile: str, target: str) -> int:
    return _count(runtime, connections.get_connection(runtime.store(), profile, target))


def decline(runtime: Runtime, profile: str, target: str) -> None:
    """The user said no (`login --no-queue-archived`): stop offering."""
    connections.mark_archived_done(runtime.store(), profile, target)


def queue_archived(runtime: Runtime, profile: str, target: str) -> int:
    """Queue the target's lacking plays for the next flush; how many were queued."""
    c = connections.get_connection(runtime.store(), profile, target)
    if c is None or c.connected_at is None:
        return 0
    kinds = _kinds(runtime, profile, target)
    store = runtime.store()
    queued = queue_lacking(store, profile, target, kinds, c.connected_at, runtime.clock.now())
    connections.mark_archived_done(store, profile, target)
    return queued
