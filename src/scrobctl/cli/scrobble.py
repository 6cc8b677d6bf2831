"""`scrobctl scrobble`: playback events from stdin (or a file) into the queue."""

import gc
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import typer

from scrobctl.cli.output import output
from scrobctl.cli.params import JSON_SUMMARY
from scrobctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime
    from scrobctl.scrobble.service import IngestResult

MAX_REPORTED = 50  # invalid lines listed one by one; the rest are counted


class InputFormat(StrEnum):
    json = "json"
    playerctl = "playerctl"


def _ingest(
    runtime: "Runtime", stream: BinaryIO, dry_run: bool, input_format: InputFormat
) -> "IngestResult":
    # What start-up made (Typer, the runtime, the modules) lives until the process ends: the
    # collector need not walk it again on each of the full collections a big input causes. And
    # a young collection only every 200,000 allocations (not 700): an ingest's objects live for
    # one chunk, or in caches of bounded size, so the count rarely gets there (100,000 lines
    # made no collection; at 20,000 there were 82, 0.2 s). Nor is there garbage to find: a
    # full collection after 100,000 lines, valid or not, finds 15 unreachable objects.
    gc.freeze()
    gc.set_threshold(200_000)
    if input_format is InputFormat.playerctl:
        from scrobctl.scrobble.service import ingest_lines
        from scrobctl.watch.playerctl import read_lines

        lines = read_lines(stream, runtime.clock.now())
        return ingest_lines(runtime, lines, dry_run=dry_run, source="playerctl")
    from scrobctl.scrobble.service import ingest_events

    return ingest_events(runtime, stream, dry_run=dry_run)


def scrobble(
    ctx: typer.Context,
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read events from this file instead of standard input."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", "-n", help="Check and count the events, queue nothing."
    ),
    input_format: InputFormat = typer.Option(
        InputFormat.json,
        "--format",
        help="json: playback events; playerctl: lines of `playerctl metadata --format` with"
        " the format `scrobctl watch mpris --print-format` prints, each a look at a player.",
    ),
    json_output: bool = JSON_SUMMARY,
) -> None:
    """Queue plays from JSON playback events, one object per line (or one JSON array).

    Each line is checked on its own: thresholds, duplicates, and the services that take its
    type. Invalid lines are reported with their number; the valid ones are still queued.

    Example: echo '{"type":"track","title":"Hurt","artist":"Johnny Cash",
    "duration_ms":218000,"watched_ms":150000}' | scrobctl scrobble
    """
    from scrobctl.cli.run import Command

    out = output(ctx, json=json_output)
    now_playing = []
    with Command(out) as cmd:
        runtime = cmd.runtime
        if file is not None:
            try:
                stream = file.open("rb")
            except OSError as exc:
                raise UsageError(f"cannot read {file}: {exc.strerror}") from None
            with stream:
                result = _ingest(runtime, stream, dry_run, input_format)
        else:
            if sys.stdin.isatty():
                out.info(
                    "waiting for playback events on standard input, one JSON object per line;"
                    " end with Ctrl-D (see `scrobctl scrobble --help`)"
                )
            result = _ingest(runtime, sys.stdin.buffer, dry_run, input_format)
        if result.starts:
            from scrobctl.scrobble.nowplaying import send_now_playing

            now_playing = cmd.call(send_now_playing, result.starts, result.routes)
    summary = result.summary
    if any(r.reconnect for r in now_playing):
        code = ExitCode.RECONNECT
    else:
        code = ExitCode.FAILED if summary.invalid else ExitCode.OK
    if json_output:
        out.data(
            {
                "dry_run": dry_run,
                **summary.counts(),
                "invalid": [{"line": n, "reason": r} for n, r in summary.invalid],
                "jobs": summary.jobs,
                "warnings": [*result.unrouted, *result.reconnect],
                "now_playing": [r.service for r in now_playing if r.error is None],
            },
            code,
        )
    for number, reason in summary.invalid[:MAX_REPORTED]:
        print(f"line {number}: {reason}", file=sys.stderr)
    if len(summary.invalid) > MAX_REPORTED:
        print(f"... and {len(summary.invalid) - MAX_REPORTED} more invalid lines", file=sys.stderr)
    verb = "would queue" if dry_run else "queued"
    parts = [
        f"{verb} {summary.queued}",
        f"below threshold {summary.below_threshold}",
        f"duplicate {summary.duplicate}",
        f"invalid {len(summary.invalid)}",
    ]
    if summary.recorded_only:
        parts.append(f"recorded with no service to send to {summary.recorded_only}")
    if summary.rated:
        parts.append(f"rated {summary.rated}")
    if summary.not_a_play:
        parts.append(f"not a finished play {summary.not_a_play}")
    if not json_output:
        out.info(", ".join(parts))
        if summary.jobs:
            where = ", ".join(f"{s} {n}" for s, n in sorted(summary.jobs.items()))
            out.info(f"{'would go' if dry_run else 'queued'} to: {where}")
    for line in [*result.unrouted, *result.reconnect]:
        print(f"warning: {line}", file=sys.stderr)
    shown = [r.service for r in now_playing if r.error is None]
    if shown:
        out.info(f"now playing on {', '.join(shown)}")
    for r in now_playing:
        if r.error is not None:
            print(f"warning: {r.service}: now playing not sent: {r.error}", file=sys.stderr)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Scrobbling")(scrobble)
