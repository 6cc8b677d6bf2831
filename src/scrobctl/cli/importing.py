"""`scrobctl import SERVICE`: bring a service's whole history into the local store; `import
--file PATH`: the same from export files (cli/import_files.py)."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from scrobctl.cli.choices import FileFormat
from scrobctl.cli.dates import parse_date
from scrobctl.cli.output import output
from scrobctl.cli.params import JSON_SUMMARY, SINCE
from scrobctl.errors import ExitCode

if TYPE_CHECKING:
    from scrobctl.sync.importer import ImportProgress, ImportResult

PLAIN_EVERY = 10  # pages between progress lines when stderr is not a terminal


def import_(
    ctx: typer.Context,
    service: str | None = typer.Argument(
        None,
        help="The target to import from: a kind's name (trakt, lastfm...) or a named one"
        " (not with --file).",
    ),
    since: str | None = SINCE,
    full: bool = typer.Option(
        False, "--full", help="Everything again, not only what is newer than the last import."
    ),
    profile: str = typer.Option("default", "--profile", "-p", help="Local profile to import into."),
    json_output: bool = JSON_SUMMARY,
    files: list[Path] = typer.Option(
        [],
        "--file",
        "-f",
        help="An export file or zip (Spotify, Last.fm, ListenBrainz, Letterboxd, Trakt, IMDb,"
        " Simkl, or an import report); repeat for several.",
    ),
    format_name: FileFormat | None = typer.Option(
        None, "--format", help="The files' format, when recognising it from the content fails."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", "-n", help="With --file: read and count, keep nothing."
    ),
) -> None:
    """Import your history (and ratings, loves, feedback) from a service, or from export files.

    Items are matched by external ids, so the same movie from Trakt and Simkl is one item. An
    import that stops (an error, Ctrl-C, SIGTERM, a kill) continues where it stopped when run
    again; `status` shows it meanwhile. A later import fetches only what is new. The summary
    counts plays and ratings apart, new and already known.
    Trakt ratings of movies, shows, seasons and episodes come too. When the plays came home
    but a later step failed (loved tracks, feedback), the plays are kept, the step is named
    and the exit code is 1. Export files go through the same matching and duplicate rules,
    and are queued for no service.

    Example: scrobctl import lastfm --since 2026-01-01

    Example: scrobctl import --file my_spotify_data.zip --file recenttracks-rob-1.csv
    """
    if files:
        if service is not None:
            from scrobctl.errors import UsageError

            raise UsageError("give a service or --file, not both")
        from scrobctl.cli.import_files import import_files

        import_files(
            output(ctx, json=json_output),
            files,
            format_name.value if format_name else None,
            profile,
            dry_run,
            json_output,
        )
        return
    if service is None or dry_run or format_name is not None:
        from scrobctl.errors import UsageError

        if service is None:
            raise UsageError("name a service to import from, or give --file PATH")
        raise UsageError("--dry-run and --format go with --file")
    from scrobctl.cli.run import Command
    from scrobctl.sync.service import import_history

    out = output(ctx, json=json_output)
    start = parse_date(since)
    progress = _Progress(service)
    suffix = "" if profile == "default" else f" --profile {profile}"

    again = f"scrobctl import {service}{suffix}"

    def interrupted() -> str:
        return (
            f"import interrupted: {progress.saved()} saved with their checkpoint (at most the"
            f" page in flight is read again). Run `{again}` to continue where it stopped"
            " (exit code 130)."
        )

    from scrobctl.errors import ScrobctlError

    try:
        with Command(out, interrupted=interrupted) as cmd, progress, _sigterm_as_interrupt():
            result = cmd.call(
                import_history, service, profile, full=full, since=start, on_page=progress.update
            )
    except ScrobctlError:
        if progress.last is not None:  # a page came home before the error: say what is kept
            out.info(
                f"{service}: import stopped after {progress.saved()} were saved with their"
                f" checkpoint; `{again}` continues where it stopped"
            )
        raise
    p = result.progress
    step = result.failed_step
    failed = result.report is not None or step is not None
    if json_output:
        out.data(summary_json(result), ExitCode.FAILED if failed else ExitCode.OK)
        if failed:
            raise typer.Exit(ExitCode.FAILED)
        return
    how = "resumed and finished" if result.resumed else "imported"
    out.info(
        f"{service}: {how}: {p.processed} entries, {p.matched} matched by id,"
        f" {p.by_title} by title, {p.failed} failed; {_apart(p)}"
    )
    if result.report is not None:
        out.info(f"failed entries are listed in {result.report}")
    if step is not None:
        # The plays came home complete; only this later step is missing (issue #15).
        out.warn(
            f"{service}: {step.step} not imported: {step.error.reason}; the"
            f" {p.plays} {'play' if p.plays == 1 else 'plays'} before it are saved and the import"
            f" is done; {step.hint}"
        )
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def summary_json(result: "ImportResult") -> dict[str, object]:
    """The `import SERVICE --json` shape (README, JSON output)."""
    p = result.progress
    return {
        "service": result.service,
        "profile": result.profile,
        "resumed": result.resumed,
        "total": p.total,
        "processed": p.processed,
        "matched_by_id": p.matched,
        "matched_by_title": p.by_title,
        "failed": p.failed,
        "plays": {"total": p.plays, "new": p.new_plays, "known": p.known_plays},
        "ratings": {"total": p.ratings, "new": p.new_ratings, "known": p.known_ratings},
        "report": str(result.report) if result.report else None,
        "failed_step": result.failed_step.step if result.failed_step else None,
    }


def _apart(p: "ImportProgress") -> str:
    """Plays and ratings apart, each new to the archive or already in it."""
    return (
        f"{p.plays} {'play' if p.plays == 1 else 'plays'} ({p.new_plays} new,"
        f" {p.known_plays} already known), {p.ratings} {'rating' if p.ratings == 1 else 'ratings'}"
        f" ({p.new_ratings} new, {p.known_ratings} already known)"
    )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager, `kill`, a shutdown) stops an import as Ctrl-C does: the
    page in flight is dropped, the row says "interrupted", and the message says how to
    continue. Left to its default, SIGTERM kills the process with the row still "running"."""
    import signal

    def interrupt(_signum: int, _frame: object) -> None:
        signal.raise_signal(signal.SIGINT)  # asyncio.run cancels the import on SIGINT

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (tests calling the command in a thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Progress:
    """A Rich progress bar on a terminal; a plain line every few pages otherwise."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.tty = sys.stderr.isatty()
        self._bar = None
        self._task = None
        self.last: ImportProgress | None = None

    def __enter__(self) -> "_Progress":
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

            from scrobctl.cli.output import live_bar

            self._bar = live_bar(
                TextColumn(f"importing {self.service}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
            )
            self._task = self._bar.add_task("import", total=None, detail="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def saved(self) -> str:
        """What the checkpoint holds, plays and ratings apart."""
        p = self.last
        if p is None:
            return "no entries"
        entries = "entry" if p.processed == 1 else "entries"
        return f"{p.processed} {entries} ({_apart(p)})"

    def update(self, p: "ImportProgress") -> None:
        self.last = p
        # "matched 0" for 20,000 title-matched tracks read as a failure: say how each matched.
        detail = f"{p.matched} by id, {p.by_title} by title, {p.failed} failed"
        # A service's total is an estimate (re-read seconds, entries added meanwhile): never
        # show more done than the whole.
        total = None if p.total is None else max(p.total, p.processed)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=total, completed=p.processed, detail=detail)
        elif p.pages % PLAIN_EVERY == 1:
            of = f" of {total}" if total is not None else ""
            print(f"{self.service}: {p.processed}{of} entries, {detail}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("import", rich_help_panel="History")(import_)
