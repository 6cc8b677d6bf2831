"""`scrobctl unscrobble`: a wrong play leaves the archive and, as queued jobs, the targets.

Trakt, Simkl and ListenBrainz get removal jobs that `flush` sends. Last.fm has no API to delete
a scrobble (its 2.0 web service has `track.scrobble` but no delete method), so the user is told
so and given the library page where it can be deleted by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from scrobctl import kinds
from scrobctl.errors import UsageError
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.store.removals import MANUAL, PlayRemoval, item_label, remove_play
from scrobctl.targets import KINDS, Target, from_connection

LASTFM = "lastfm"


@dataclass
class TargetResult:
    service: str
    action: str  # dropped, queued, manual, never sent
    job_id: int | None = None
    manual_url: str | None = None


@dataclass
class PlayResult:
    play_id: int
    found: bool
    what: str = ""
    kind: str = ""
    watched_at: int = 0
    profile: str = ""
    removed_from_archive: bool = False
    busy: list[str] = field(default_factory=list)
    targets: list[TargetResult] = field(default_factory=list)


@dataclass
class UnscrobbleReport:
    dry_run: bool
    plays: list[PlayResult] = field(default_factory=list)

    @property
    def queued(self) -> int:
        return sum(t.action == "queued" for p in self.plays for t in p.targets)

    @property
    def failed(self) -> bool:
        return any(not p.found or p.busy for p in self.plays)


def lastfm_library_url(runtime: Runtime, profile: str, watched_at: int, name: str = LASTFM) -> str:
    """The library page of the play's day, where Last.fm lets its owner delete a scrobble."""
    connection = connections.get_connection(runtime.store(), profile, name)
    user = connection.account if connection and connection.account else "YOUR_NAME"
    parts = urlsplit(str(runtime.settings.lastfm.auth_url))
    day = datetime.fromtimestamp(watched_at, UTC).astimezone().date().isoformat()
    return f"{parts.scheme}://{parts.netloc}/user/{quote(user)}/library?from={day}&to={day}"


def _removable(store: object) -> set[str]:
    """The targets a play can be removed from by API (kinds.removable): the kinds' own targets
    that have a way, and each connected target whose every connection has one."""
    names = {k for k in kinds.KINDS if kinds.removable(Target("", k, k, None, None))}
    refused: set[str] = set()
    for c in connections.list_connections(store):
        if kinds.removable(from_connection(c)):
            names.add(c.name)
        else:
            refused.add(c.name)
    return names - refused


def _on_lastfm(store: object) -> set[str]:
    """The targets on Last.fm itself, whose library page a user deletes a scrobble from by hand
    (a compatible server's is not there)."""
    on_lastfm = connections.list_connections(store)
    return {LASTFM} | {c.name for c in on_lastfm if c.kind == LASTFM and not c.url}


def unscrobble(
    runtime: Runtime, play_ids: list[int], targets: set[str] | None, *, dry_run: bool
) -> UnscrobbleReport:
    store = runtime.store()
    report = UnscrobbleReport(dry_run)
    removable = _removable(store)
    on_lastfm = _on_lastfm(store)
    known = set(KINDS) | {c.name for c in connections.list_connections(store)}
    unknown = sorted((targets or set()) - known)
    if unknown:
        raise UsageError(
            f"no target named {', '.join(map(repr, unknown))}", "see `scrobctl status`"
        )
    for play_id in play_ids:
        removal: PlayRemoval = remove_play(
            store,
            play_id,
            targets=targets,
            removable=removable,
            dry_run=dry_run,
            now=runtime.clock.now(),
        )
        result = PlayResult(play_id, removal.found)
        report.plays.append(result)
        if not removal.found:
            continue
        result.what = item_label(store.conn, removal.item_id)
        result.kind, result.watched_at = removal.kind, removal.watched_at
        result.profile, result.busy = removal.profile, removal.busy
        result.removed_from_archive = not removal.busy and not removal.kept_in_archive
        for step in removal.steps:
            url = None
            if step.action == MANUAL and step.service in on_lastfm:
                url = lastfm_library_url(runtime, removal.profile, removal.watched_at, step.service)
            result.targets.append(TargetResult(step.service, step.action, step.job_id, url))
    return report
