"""`scrobctl flush`: send the queue. Made for cron: quiet unless something needs attention."""

from __future__ import annotations

import sys

import typer

from scrobctl.cli.output import local_time, quiet, set_quiet


def flush(
    targets: list[str] = typer.Argument(
        None,
        help="Only these targets (e.g. listenbrainz maloja); default: all.",
        show_default=False,
    ),
    quiet_option: bool = typer.Option(
        False, "--quiet", "-q", help="Print only problems (for cron)."
    ),
) -> None:
    """Send queued plays to their services: batched, rate-limited, retried.

    Exit codes: 0 all sent (or nothing due), 1 some plays were rejected or given up on,
    3 a service needs `scrobctl login` again, 4 another flush is running.

    Example (crontab): */15 * * * * scrobctl flush --quiet

    Example: scrobctl flush maloja
    """
    if quiet_option:
        set_quiet(True)
    from scrobctl.paths import DB_NAME, data_dir
    from scrobctl.store.probe import nothing_due

    if nothing_due(data_dir() / DB_NAME):
        return
    import asyncio

    from scrobctl.cli.context import build_runtime
    from scrobctl.scrobble.flush import flush as run_flush

    runtime = build_runtime()
    try:
        report = asyncio.run(run_flush(runtime, tuple(targets) if targets else None))
    finally:
        runtime.close()
    for r in report.services:
        name = r.service if r.profile == "default" else f"{r.service} ({r.profile})"
        if r.reconnect:
            print(f"{name}: {r.reconnect}", file=sys.stderr)
            continue
        if r.attention and not r.sent:
            print(f"{name}: {r.attention}; its plays wait in the queue", file=sys.stderr)
            continue
        problems = bool(r.rejected or r.discarded or r.error)
        if quiet() and not problems:
            continue
        parts = [f"{r.sent} sent" + (f" in {r.requests} requests" if r.requests else "")]
        if r.removed:
            parts.append(f"{r.removed} removed")
        if r.already_there:
            parts.append(f"{r.already_there} already there")
        if r.rejected:
            reasons = sorted(set(r.rejected))
            parts.append(f"{len(r.rejected)} rejected ({'; '.join(reasons[:3])})")
        if r.deferred_until:
            parts.append(f"{r.deferred or 'the rest'} paused until {local_time(r.deferred_until)}")
        if r.retry_scheduled:
            parts.append(f"{r.retry_scheduled} to retry from {local_time(r.retry_at)} ({r.error})")
        if r.discarded:
            parts.append(f"{r.discarded} given up ({r.error}); see `scrobctl queue list`")
        print(f"{name}: " + ", ".join(parts), file=sys.stderr)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Scrobbling")(flush)
