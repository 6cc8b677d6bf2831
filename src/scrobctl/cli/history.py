"""`scrobctl history`: query the local archive."""

from enum import StrEnum

import typer

from scrobctl.cli.dates import parse_date
from scrobctl.cli.output import local_time, output
from scrobctl.cli.params import JSON_OUTPUT, SINCE


class Kind(StrEnum):
    track = "track"
    podcast = "podcast"
    movie = "movie"
    episode = "episode"


def history(
    ctx: typer.Context,
    kind: Kind | None = typer.Option(None, "--type", "-t", help="Only this media type."),
    service: str | None = typer.Option(
        None,
        "--service",
        "-s",
        help="Only plays this target (e.g. lastfm, maloja) is known to have.",
    ),
    since: str | None = SINCE,
    source: str | None = typer.Option(
        None,
        "--source",
        help="Only plays that came from here: stdin, import:SERVICE, file:FORMAT; file or"
        " import alone for all of them.",
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Show at most this many."),
    profile: str | None = typer.Option(None, "--profile", "-p", help="Only this profile."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Show your plays, newest first, with the services that have each.

    Example: scrobctl history --type movie --since 2026-01-01 --json

    Example: scrobctl history --source file:letterboxd
    """
    from dataclasses import asdict

    from scrobctl.cli.run import Command
    from scrobctl.store.history import list_plays

    out = output(ctx, json=json_output)
    start = parse_date(since)
    with Command(out, read_only=True) as cmd:
        rows = list(
            list_plays(
                cmd.runtime.store(),
                kind=kind.value if kind else None,
                service=service,
                since=start,
                profile=profile,
                limit=limit,
                source=source,
            )
        )
    if json_output:
        out.data({"plays": [asdict(r) for r in rows]})
        return
    if not rows:
        filtered = kind or service or since or profile
        out.info("no plays match these filters" if filtered else "no plays yet")
        return
    from scrobctl.cli.table import Table
    from scrobctl.store.names import item_name

    table = Table("play", "when", "type", "what", "services")
    for r in rows:
        what = item_name(r.kind, r.title, r.artist, r.show, r.season, r.number, r.ids)
        table.add_row(str(r.id), local_time(r.watched_at), r.kind, what, ", ".join(r.services))
    table.print()


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="History")(history)
