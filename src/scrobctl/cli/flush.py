"""`scrobctl flush`: send the queue. Made for cron: quiet unless something needs attention."""

import sys
from typing import TYPE_CHECKING

import typer

from scrobctl.cli.output import Output, local_time, output, plural
from scrobctl.cli.params import JSON_SUMMARY
from scrobctl.errors import ExitCode

if TYPE_CHECKING:
    from scrobctl.scrobble.flush import Planned, ServiceReport


def flush(
    ctx: typer.Context,
    targets: list[str] = typer.Argument(
        None,
        help="Only these targets (e.g. listenbrainz maloja); default: all.",
        show_default=False,
    ),
    quiet_option: bool = typer.Option(
        False, "--quiet", "-q", help="Print only problems (for cron)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", "-n", help="List what would be sent, per service; send nothing."
    ),
    json_output: bool = JSON_SUMMARY,
) -> None:
    """Send queued plays to their services: batched, rate-limited, retried.

    A progress bar per service on a terminal, a line per batch otherwise (none with -q).
    Exit codes: 0 all sent (or nothing due), 1 some plays were rejected or given up on,
    3 a service needs `scrobctl login` again, 4 another flush is running, 130 interrupted
    (what was sent is recorded, the rest stays queued).

    Example (crontab): */15 * * * * scrobctl flush --quiet

    Example: scrobctl flush maloja
    """
    out = output(ctx, json=json_output)
    out.quiet = out.quiet or quiet_option
    from scrobctl.entry import nothing_to_flush

    if nothing_to_flush():
        if json_output:
            out.data({"dry_run": dry_run, "services": []})
        elif dry_run:
            out.info("nothing is due")
        return
    from scrobctl.cli.run import Command
    from scrobctl.errors import LockHeld
    from scrobctl.scrobble.flush import flush as run_flush
    from scrobctl.scrobble.flush import plan

    chosen = tuple(targets) if targets else None
    if dry_run:
        with Command(out) as cmd:
            _dry_run(out, cmd.call(plan, chosen))
        return
    progress = _Progress(out)
    try:
        with Command(out, interrupted=progress.interrupted) as cmd, progress:
            report = cmd.call(run_flush, chosen, on_batch=progress.update)
    except LockHeld:
        if out.quiet:  # cron overlapping a long flush: not worth a mail; the code still says so
            raise typer.Exit(ExitCode.LOCKED) from None
        raise
    if out.json:
        from dataclasses import asdict

        services = [{k: v for k, v in asdict(r).items() if k != "total"} for r in report.services]
        out.data({"dry_run": False, "services": services}, report.exit_code)
        raise typer.Exit(report.exit_code)
    for r in report.services:
        if out.quiet and not _needs_attention(r):
            continue
        print(service_line(r), file=sys.stderr)
    raise typer.Exit(report.exit_code)


def _needs_attention(r: "ServiceReport") -> bool:
    """What --quiet still prints: a lost login, a target this run could not use, plays
    rejected or given up, an error."""
    return bool(
        r.reconnect
        or r.problem
        or (r.attention and not r.sent)
        or r.rejected
        or r.discarded
        or r.error
    )


def service_line(r: "ServiceReport") -> str:
    """One target's part of a flush, as `flush` prints it and `serve --flush-every` logs it."""
    name = _name(r)
    if r.reconnect:
        return f"{name}: {r.reconnect}"
    if r.problem:
        return f"{name}: {r.problem}; its plays wait in the queue"
    if r.attention and not r.sent:
        return f"{name}: {r.attention}; its plays wait in the queue"
    parts = [f"{r.sent} sent" + (f" in {plural(r.requests, 'request')}" if r.requests else "")]
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
    return f"{name}: " + ", ".join(parts)


SHOWN = 10  # items listed per service by --dry-run (the count says how many more)


def _dry_run(out: Output, planned: "list[Planned]") -> None:
    if out.json:
        from dataclasses import asdict

        out.data({"dry_run": True, "services": [asdict(p) for p in planned]})
        return
    if not planned:
        out.info("nothing is due")
    for p in planned:
        name = p.service if p.profile == "default" else f"{p.service} ({p.profile})"
        why = "" if p.state == "ok" else f" (not now: {p.state.replace('_', ' ')})"
        out.info(f"{name}: would send {plural(p.due, 'job')}{why}")
        for item in p.items[:SHOWN]:
            out.info(f"  {item}")
        if p.due > SHOWN:
            out.info(f"  ... and {p.due - SHOWN:,} more")


def _name(r: "ServiceReport") -> str:
    return r.service if r.profile == "default" else f"{r.service} ({r.profile})"


def _done(r: "ServiceReport") -> int:
    """Jobs of the target that this run has finished with, one way or another."""
    return r.sent + r.already_there + len(r.rejected) + r.retry_scheduled + r.discarded + r.deferred


class _Progress:
    """A Rich bar per target on a terminal; a line per batch otherwise; nothing with -q."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.tty = sys.stderr.isatty()
        self.reports: dict[str, ServiceReport] = {}
        self._bar = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "_Progress":
        if self.tty and not self.out.quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

            from scrobctl.cli.output import live_bar

            self._bar = live_bar(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, r: "ServiceReport") -> None:
        name = _name(r)
        first = name not in self.reports
        self.reports[name] = r
        done = min(_done(r), r.total)
        if self._bar is not None:
            if name not in self._tasks:
                self._tasks[name] = self._bar.add_task(name, total=r.total)
            self._bar.update(self._tasks[name], completed=done)
        elif not first and not self.out.quiet and done < r.total:
            self.out.info(f"flushing {name}: {done} of {r.total} done ({r.sent} sent)")

    def interrupted(self) -> str:
        sent = sum(r.sent for r in self.reports.values())
        verb = "is" if sent == 1 else "are"
        return (
            f"flush interrupted: {plural(sent, 'play')} sent by this run {verb} recorded;"
            " the rest stay in the queue, nothing is lost. Run `scrobctl flush` to continue"
            " (exit code 130)."
        )


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Scrobbling")(flush)
