"""`scrobctl sync --to TARGET`: queue the archived plays (and ratings) a target lacks."""

from typing import TYPE_CHECKING, Any

import typer

from scrobctl.cli.dates import parse_date
from scrobctl.cli.output import local_time, output, plural
from scrobctl.cli.params import JSON_SUMMARY, PROFILE, SINCE

if TYPE_CHECKING:
    from scrobctl.cli.output import Output
    from scrobctl.sync.backfill import SyncResult


def sync(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="The target to send to (a kind or a named target)."),
    source_service: str | None = typer.Option(
        None, "--from", help="Only plays this target has (imported from it or sent to it)."
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        help="Only plays recorded from this source: file (every export file), file:spotify,"
        " file:letterboxd..., stdin (as `history --source`).",
    ),
    since: str | None = SINCE,
    until: str | None = typer.Option(None, "--until", help="Only plays before this date."),
    ratings: bool = typer.Option(
        False, "--ratings", help="Ratings (loves, feedback) too, as `export ratings` does."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        "-n",
        help="List what would be sent and why the rest is skipped; queue nothing (the"
        " histories are still imported, as `import` would).",
    ),
    profile: str = PROFILE,
    json_output: bool = JSON_SUMMARY,
) -> None:
    """Queue the archived plays a target lacks; `scrobctl flush` sends them.

    The target's own history over the period is imported first (and the --from target's,
    incrementally), so what it has counts, whoever sent it. A play is matched by ids, or
    by artist and title with case, accents, punctuation, "feat." and remaster notes set
    aside (a weak match, listed in a report), within the time the two services round to.
    Each play is queued for a target once: running sync again, or after it stopped, queues
    nothing twice. Last.fm ignores plays older than 14 days: they are counted, never queued.

    Example: scrobctl sync --from lastfm --to listenbrainz

    Example: scrobctl sync --from trakt --to simkl --ratings
    """
    from scrobctl.cli.importing import _Progress
    from scrobctl.cli.run import Command
    from scrobctl.errors import ExitCode, UsageError
    from scrobctl.sync.backfill import sync as do_sync

    out = output(ctx, json=json_output)
    if source_service and source:
        raise UsageError("give --from or --source, not both")
    start, end = parse_date(since), parse_date(until)
    if start is not None and end is not None and end <= start:
        raise UsageError("--until must be after --since")

    def interrupted() -> str:
        # Imported pages and queued jobs are committed as they go; queueing is once per play.
        return (
            "sync interrupted: what was imported and queued so far is kept; run the same"
            " command again to continue, nothing is queued twice (exit code 130)"
        )

    with Command(out, interrupted=interrupted) as cmd:
        result = cmd.call(
            do_sync,
            to,
            profile=profile,
            source_service=source_service,
            source=source,
            since=start,
            until=end,
            ratings=ratings,
            dry_run=dry_run,
            on_import=None if json_output else _Progress,
        )
    code = ExitCode.FAILED if result.failed else ExitCode.OK
    if json_output:
        out.data(summary(result), code)
    else:
        render(out, result)
    if result.failed:
        raise typer.Exit(code)


def summary(result: "SyncResult") -> dict[str, Any]:
    """The `--json` shape (README, JSON output)."""
    data: dict[str, Any] = {
        "target": result.target,
        "source": result.source,
        "profile": result.profile,
        "dry_run": result.dry_run,
        "imported": result.imported,
        "weighed": result.weighed,
        "queued": result.queued,
        "already_there": result.already_there,
        "queued_before": result.queued_before,
        "too_old": result.too_old,
        "too_old_days": result.too_old_days,
        "wrong_type": result.wrong_type,
        "weak_matches_report": str(result.weak_report) if result.weak_report else None,
        "notes": result.notes,
    }
    if result.ratings is not None:
        reasons: dict[str, int] = {}
        for _, reason in result.ratings.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        data["ratings"] = {
            "queued": result.ratings.queued,
            "already_there": result.ratings.already_there,
            "queued_before": result.ratings.unchanged,
            "not_exportable": reasons,
        }
    if result.dry_run:
        data["plays"] = [
            {
                "play_id": p.play_id,
                "watched_at": p.watched_at,
                "kind": p.kind,
                "item": p.item,
                "action": p.action,
                "reason": p.reason,
                "match": p.how,
                "detail": p.detail,
            }
            for p in result.plays
        ]
    return data


def render(out: "Output", result: "SyncResult") -> None:
    to = result.target
    for name, read in result.imported.items():
        if read is not None:
            out.info(f"{name}: history read, {read:,} entries")
    for note in result.notes:
        out.info(f"{to}: {note}")
    if not result.weighed:
        where = f" from {result.source}" if result.source else ""
        out.info(f"{to}: no archived plays{where} in this period, so nothing to queue")
    if result.dry_run:
        for p in result.plays:
            what = "send" if p.action == "send" else f"skip ({p.reason}: {p.detail})"
            out.info(f"  {local_time(p.watched_at)}  {p.item}  {what}")
    verb = "would queue" if result.dry_run else "queued"
    there = result.already_there
    parts = [
        f"{verb} {plural(result.queued, 'play')}",
        f"already there {there['id'] + there['title']:,}"
        f" ({there['id']:,} by id, {there['title']:,} by title)",
    ]
    before = sum(result.queued_before.values())
    if before:
        parts.append(f"queued before {before:,}")
    if result.wrong_type:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(result.wrong_type.items()))
        parts.append(f"not taken: {kinds}")
    out.info(f"{to}: " + ", ".join(parts))
    if result.too_old:
        out.info(
            f"{to}: {plural(result.too_old, 'play')} older than {result.too_old_days} days not"
            f" queued ({to} ignores them)"
        )
    if result.weak_report is not None:
        out.info(f"{to}: plays matched only by title are listed in {result.weak_report}")
    if result.ratings is not None:
        r = result.ratings
        out.info(
            f"{to}: ratings {verb} {r.queued:,}, already there {r.already_there:,},"
            f" queued before {r.unchanged:,}, not exportable {len(r.skipped):,}"
        )
    if result.queued and not result.dry_run:
        out.info("`scrobctl flush` sends them (big syncs over several runs: it resumes)")


def register(app: typer.Typer) -> None:
    app.command("sync", rich_help_panel="History")(sync)
