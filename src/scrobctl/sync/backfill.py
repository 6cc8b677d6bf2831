"""`scrobctl sync --to TARGET`: the archived plays a target lacks become jobs for it (issue 21).

What the target has is what it really has: its own history over the period is imported first
(incrementally, by the importer), so plays another app sent count too. Each archived play from
the source is then, in turn: of a type the target does not take; queued for it before (sent,
waiting or refused: a play is queued for a target once, which is what makes a sync run again, or
stopped and run again, queue nothing twice); already there, matched by ids or by a normalised
title (weak, and recorded as such in a report); too old for the target (Last.fm ignores plays
older than 14 days: counted, never queued); or queued. `flush` sends the jobs with everything it
guarantees (batches, rate limits, resuming across cron runs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrobctl import kinds, targets
from scrobctl.errors import UsageError, login_hint
from scrobctl.runtime import Runtime
from scrobctl.store import backfill, connections
from scrobctl.store.names import item_name
from scrobctl.store.ratings import ExportSummary
from scrobctl.sync.matching import VIDEO_IDS, Match, Play, TargetIndex

# Target plays this far either side of the period are read: the widest slack between services.
MARGIN = 86_400

OnImport = Callable[[str], Any]  # given a target name, a progress callback for its import


@dataclass
class PlayLine:
    """One archived play in the plan: sent, or skipped and why."""

    play_id: int
    watched_at: int
    kind: str
    item: str
    action: str  # "send" | "skip"
    reason: str | None = None  # "already_there" | "queued_before" | "type"
    how: str | None = None  # already there: "id" or "title" (weak)
    detail: str | None = None


@dataclass
class SyncResult:
    profile: str
    target: str
    source: str | None
    dry_run: bool
    since: int | None
    until: int | None
    imported: dict[str, int | None] = field(default_factory=dict)  # name -> entries read
    weighed: int = 0  # archived plays from the source in the period
    queued: int = 0
    already_there: dict[str, int] = field(default_factory=lambda: {"id": 0, "title": 0})
    queued_before: dict[str, int] = field(default_factory=dict)  # job state -> plays
    too_old: int = 0
    too_old_days: int | None = None
    wrong_type: dict[str, int] = field(default_factory=dict)
    plays: list[PlayLine] = field(default_factory=list)  # dry run: every play considered
    weak_report: Path | None = None
    ratings: ExportSummary | None = None
    notes: list[str] = field(default_factory=list)
    failed: bool = False  # an import brought the history but not all of it (exit code 1)


def _play(row: Any, origin: str | None, ref_key: str) -> Play:
    ids = {c: row[c] for c in VIDEO_IDS if row[c] is not None}
    for column in ("mbid", "isrc"):
        if row[column]:
            ids[column] = row[column]
    return Play(
        ref=row[ref_key],
        kind=row["kind"],
        at=row["at"],
        item_id=row["item_id"],
        origin=origin,
        ids=ids,
        show_ids={c: row[f"s_{c}"] for c in VIDEO_IDS if row[f"s_{c}"] is not None},
        season=row["season"],
        number=row["number"],
        artist=row["artist"],
        title=row["title"],
        duration_ms=row["duration_ms"] or row["item_ms"],
    )


def _name(row: Any) -> str:
    ids = {c: row[c] for c in VIDEO_IDS if row[c] is not None}
    return item_name(
        row["kind"], row["title"], row["artist"], row["s_title"], row["season"], row["number"], ids
    )


def _max_age(target: targets.Target) -> int | None:
    """Seconds into the past the target still takes plays: its kind's own service may ignore
    older plays (Last.fm, api-notes A.4); a compatible server (Maloja, Libre.fm) has no such
    rule."""
    return kinds.kind(target.kind).max_age if target.server_type is None else None


async def _import(
    runtime: Runtime, name: str, profile: str, since: int | None, on: Any, result: SyncResult
) -> int:
    """Import one history as `import` does; what it could not bring is said, and is a failure."""
    from scrobctl.sync.service import import_history

    done = await import_history(runtime, name, profile, since=since, on_page=on)
    if done.report is not None:
        result.notes.append(f"entries {name} gave that could not be imported: {done.report}")
        result.failed = True
    if done.failed_step is not None:
        step = done.failed_step
        result.notes.append(f"{name}: {step.step} not imported: {step.error.reason}; {step.hint}")
        result.failed = True
    return done.progress.processed


async def sync(
    runtime: Runtime,
    to: str,
    *,
    profile: str = "default",
    source_service: str | None = None,
    source: str | None = None,
    since: int | None = None,
    until: int | None = None,
    ratings: bool = False,
    dry_run: bool = False,
    on_import: OnImport | None = None,
) -> SyncResult:
    from scrobctl.sync.service import MissingEndpoint, not_logged_in

    store = runtime.store()
    connection = connections.get_connection(store, profile, to)
    if connection is None:
        raise UsageError(not_logged_in(runtime, to, profile), login_hint(to, profile))
    target = targets.from_connection(connection)
    if source_service == to:
        raise UsageError("--from and --to name the same target")
    if source_service is not None and not _known_source(runtime, profile, source_service):
        raise UsageError(
            f"{source_service!r} is no target of this archive",
            f"--from takes a target ({', '.join(targets.KINDS)} or a named one); for an"
            f" export file use --source file:{source_service}",
        )
    result = SyncResult(profile, to, source_service or source, dry_run, since, until)
    # The source's own news first (a cron `sync --from trakt --to simkl` keeps them in step),
    # then the target's history over the period: what it really has.
    names = [n for n in (source_service, to) if n is not None]
    for name in names:
        if name == source_service and connections.get_connection(store, profile, name) is None:
            result.imported[name] = None  # not logged in: its plays already archived are used
            continue
        progress = on_import(name) if on_import is not None else None
        try:
            if progress is not None:
                with progress:
                    result.imported[name] = await _import(
                        runtime, name, profile, since, progress.update, result
                    )
            else:
                result.imported[name] = await _import(runtime, name, profile, since, None, result)
        except MissingEndpoint as exc:
            result.imported[name] = None
            known = "what scrobctl sent there counts as there"
            if name == source_service:
                known = "the plays sent there from here are the source"
            result.notes.append(f"{exc.reason}; {known}")
    plan(runtime, target, result, source_service, source)
    if ratings and not target.has_loves:
        result.notes.append(f"{target.label} takes no ratings, loves or feedback")
    elif ratings:
        result.ratings = _ratings(runtime, target, result, source_service, source)
    return result


def plan(
    runtime: Runtime,
    target: targets.Target,
    result: SyncResult,
    source_service: str | None,
    source: str | None,
) -> None:
    store = runtime.store()
    profile, to = result.profile, target.name
    kinds = sorted(takes_of(runtime, target))
    plays = backfill.SourcePlays(profile, source_service, source, result.since, result.until)
    span = backfill.source_span(store, plays)
    if span is None:
        _weighed_all(runtime, result)
        return  # nothing archived from the source in the period
    # Only the target's plays around the source's: memory follows the period, not the target.
    low, high = span[0] - MARGIN, span[1] + MARGIN
    index = TargetIndex(
        _play(row, row["origin"] or target.kind, "ref")
        for row in backfill.target_plays(store, profile, to, kinds, low, high)
    )
    states = backfill.job_states(store, profile, to)
    max_age = _max_age(target)
    cutoff = runtime.clock.now() - max_age if max_age is not None else None
    if max_age is not None:
        result.too_old_days = max_age // 86_400
    rows = backfill.source_plays(store, plays)
    send: list[int] = []
    weak: list[dict[str, Any]] = []
    listing = result.dry_run
    for row in rows:
        result.weighed += 1
        play_id, kind = row["play_id"], row["kind"]
        line = PlayLine(play_id, row["at"], kind, _name(row), "skip") if listing else None
        if kind not in kinds:
            result.wrong_type[kind] = result.wrong_type.get(kind, 0) + 1
            if line is not None:
                line.reason, line.detail = "type", f"{to} takes no {kind}s"
        elif play_id in states:
            state = states[play_id]
            result.queued_before[state] = result.queued_before.get(state, 0) + 1
            if line is not None:
                line.reason, line.detail = "queued_before", state
        else:
            play = _play(row, row["source"], "play_id")
            found = index.match(play)
            if found is not None:
                result.already_there[found.how] += 1
                if found.weak:
                    weak.append(_weak_entry(row, found, to))
                if line is not None:
                    line.reason, line.how = "already_there", found.how
                    line.detail = _there(found, play)
            elif cutoff is not None and row["at"] < cutoff:
                result.too_old += 1  # reported once as a count, never listed nor queued
                line = None
            else:
                send.append(play_id)
                index.add(play)  # another archived copy of this listen is now "there"
                if line is not None:
                    line.action = "send"
        if line is not None:
            result.plays.append(line)
    if weak:
        result.weak_report = _write_report(runtime, to, weak)
    if result.dry_run:
        result.queued = len(send)
        return
    result.queued = backfill.queue_plays(store, profile, to, send, runtime.clock.now())
    _weighed_all(runtime, result)


def _weighed_all(runtime: Runtime, result: SyncResult) -> None:
    """After a sync over the whole archive, `status` need not count this target's lacking
    plays any more: each was weighed."""
    whole = result.source is None and result.since is None and result.until is None
    if whole and not result.dry_run:
        connections.mark_archived_done(runtime.store(), result.profile, result.target)


def _known_source(runtime: Runtime, profile: str, name: str) -> bool:
    """A kind, a connected target, or a name the archive has plays of (a target since logged
    out of)."""
    if name in targets.KINDS or connections.get_connection(runtime.store(), profile, name):
        return True
    return backfill.has_plays_of(runtime.store(), profile, name)


def takes_of(runtime: Runtime, target: targets.Target) -> frozenset[str]:
    from scrobctl.scrobble.routing import takes

    return takes(runtime.settings, target.kind)


def _there(found: Match, play: Play) -> str:
    delta = found.target.at - play.at
    when = "at the same time" if delta == 0 else f"{delta:+d} s"
    return f"matched by {'title (weak)' if found.weak else 'id'}, {when}"


def _weak_entry(row: Any, found: Match, to: str) -> dict[str, Any]:
    return {
        "play_id": row["play_id"],
        "watched_at": row["at"],
        "item": _name(row),
        "target": to,
        "target_at": found.target.at,
        "target_item": f"{found.target.artist} - {found.target.title}",
        "match": "title",
    }


def _write_report(runtime: Runtime, to: str, entries: list[dict[str, Any]]) -> Path:
    """Weak matches, one JSON line each: plays taken as there on the strength of a title."""
    folder = runtime.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # One file per target, rewritten by each run: it says what the latest sync took on trust,
    # and a cron sync does not pile up a report a run.
    path = folder / f"sync-{to}-weak-matches.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(json.dumps(entry) + "\n")
    return path


def _ratings(
    runtime: Runtime,
    target: targets.Target,
    result: SyncResult,
    source_service: str | None,
    source: str | None,
) -> ExportSummary:
    """Ratings (loves, feedback) of the source that the target lacks, in its own terms, by the
    same rules as `export ratings`; the imports above brought the target's own."""
    from scrobctl.sync.export import export_ratings

    rating_source = source_service
    if rating_source is None and source is not None and ":" in source:
        rating_source = source.split(":", 1)[1]  # file:letterboxd rates as "letterboxd"
    return export_ratings(
        runtime,
        target.name,
        result.profile,
        source=rating_source,
        since=result.since,
        dry_run=result.dry_run,
    )
