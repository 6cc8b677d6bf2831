"""`scrobctl unscrobble PLAY...`: remove wrong plays from the archive and from the targets."""

import json
import sys

import typer

from scrobctl.cli.output import Output, local_time, output
from scrobctl.cli.params import JSON_OUTPUT
from scrobctl.errors import ExitCode, UsageError

ACTIONS = {
    "queued": "removal queued",
    "dropped": "not sent yet; dropped from the queue",
    "never sent": "never reached it (its job had failed or was refused)",
}


def play_ids(args: list[str], stdin: str | None) -> list[int]:
    """Play ids from the arguments; `-` reads `history --json` output (or JSON lines of plays,
    or bare ids) from stdin."""
    ids: list[int] = []
    for arg in args:
        if arg == "-":
            ids.extend(_ids_from_text(stdin or ""))
        elif arg.isdigit():
            ids.append(int(arg))
        else:
            raise UsageError(
                f"{arg!r} is not a play id",
                "use the number `scrobctl history` shows, or `-` to read history --json",
            )
    return ids


def _ids_from_text(text: str) -> list[int]:
    stripped = text.strip()
    try:
        document = json.loads(stripped) if stripped.startswith(("{", "[")) else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        document = document["data"]  # `history --json`'s envelope (README "JSON output")
    if isinstance(document, dict) and isinstance(document.get("plays"), list):
        entries: list[object] = document["plays"]
    elif isinstance(document, list):
        entries = document
    elif isinstance(document, dict):
        entries = [document]
    else:
        entries = []
        for line in stripped.splitlines():
            line = line.strip()
            if line:
                entries.append(int(line) if line.isdigit() else json.loads(line))
    ids = []
    for entry in entries:
        play_id = entry.get("id") if isinstance(entry, dict) else entry
        if not isinstance(play_id, int):
            raise UsageError("a play on stdin has no id", "pipe `scrobctl history --json`")
        ids.append(play_id)
    return ids


def unscrobble(
    ctx: typer.Context,
    plays: list[str] = typer.Argument(
        ..., help="Play ids, as `scrobctl history` shows them; `-` reads history --json."
    ),
    source: list[str] | None = typer.Option(
        None,
        "--from",
        metavar="TARGET",
        help="Only from this target (repeatable; a kind's name or a named target such as"
        " trakt2); the play stays in the archive.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Say what would happen only."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Remove wrong plays from your archive and, as queued jobs, from the services that have
    them: Trakt and Simkl (/sync/history/remove) and ListenBrainz (delete-listen). A play not
    sent yet is just dropped from the queue. Last.fm cannot delete scrobbles through its API:
    you get the page where you can delete it by hand. `scrobctl flush` sends the removals.

    Example: scrobctl unscrobble 1234 --dry-run
    """
    from dataclasses import asdict

    from scrobctl.cli.run import call
    from scrobctl.scrobble.unscrobble import unscrobble as run

    out = output(ctx, json=json_output)
    stdin = sys.stdin.read() if "-" in plays else None
    ids = play_ids(plays, stdin)
    targets = set(source) if source else None
    report = call(out, run, ids, targets, dry_run=dry_run)
    code = ExitCode.FAILED if report.failed else ExitCode.OK
    if json_output:
        out.data({"dry_run": report.dry_run, "plays": [asdict(p) for p in report.plays]}, code)
    else:
        _render(out, report)
    raise typer.Exit(code)


def _render(out: Output, report: object) -> None:
    from scrobctl.scrobble.unscrobble import UnscrobbleReport

    assert isinstance(report, UnscrobbleReport)
    would = "would be " if report.dry_run else ""
    for play in report.plays:
        if not play.found:
            print(f"play {play.play_id}: no such play in the archive", file=sys.stderr)
            continue
        head = f"play {play.play_id}, {play.what} at {local_time(play.watched_at)}"
        if play.busy:
            print(
                f"{head}: a flush is sending it to {', '.join(play.busy)} right now; nothing "
                "changed, run unscrobble again once the flush has finished",
                file=sys.stderr,
            )
            continue
        where = (
            "kept in the archive" if not play.removed_from_archive else "removed from the archive"
        )
        out.info(f"{head}: {would}{where}")
        if not play.targets:
            out.info("  no target has it")
        for target in play.targets:
            if target.action == "manual" and target.manual_url:
                out.info(
                    f"  {target.service}: Last.fm has no API to delete a scrobble; delete it by "
                    f"hand at {target.manual_url}"
                )
            elif target.action == "manual":
                out.info(
                    f"  {target.service}: its server has no API to delete a play; delete it there"
                )
            else:
                out.info(f"  {target.service}: {would}{ACTIONS.get(target.action, target.action)}")
    if report.dry_run:
        out.info("dry run: nothing was changed")
    elif report.queued:
        out.info(f"run `scrobctl flush` to send {report.queued} removal(s)")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="History")(unscrobble)
