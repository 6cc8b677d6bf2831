"""`scrobctl stats`: plays per week, top lists, time spent, and what each target has."""

import sys

import typer

from scrobctl.cli.dates import parse_date
from scrobctl.cli.history import Kind
from scrobctl.cli.output import colour, output
from scrobctl.cli.params import JSON_OUTPUT, SINCE

BAR_WIDTH = 40


def stats(
    ctx: typer.Context,
    since: str | None = SINCE,
    kind: Kind | None = typer.Option(None, "--type", "-t", help="Only this media type."),
    top: int = typer.Option(10, "--top", min=1, max=100, help="How long each top list is."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Your archive at a glance: plays per week (a chart on a terminal), top artists, tracks,
    albums, shows and movies, listening and watching time, and how much of the archive each
    target has. Without --since the chart covers the last 26 weeks.

    Example: scrobctl stats --since 2026-01-01 --type track
    """
    from dataclasses import asdict

    from scrobctl.cli.run import call
    from scrobctl.stats import stats as run

    out = output(ctx, json=json_output)
    start = parse_date(since)
    result = call(out, run, since=start, kind=kind.value if kind else None, top=top)
    if json_output:
        out.data(asdict(result))
        return
    _render(result)


def _hours(ms: int) -> str:
    hours = ms / 3_600_000
    return f"{hours:,.1f} h" if hours < 48 else f"{hours:,.0f} h ({hours / 24:,.1f} days)"


def _render(result: object) -> None:
    from datetime import datetime

    from scrobctl.cli.table import Table
    from scrobctl.store.stats import ArchiveStats

    assert isinstance(result, ArchiveStats)
    kinds = ", ".join(f"{n:,} {k}s" for k, n in sorted(result.by_kind.items()))
    print(f"{result.plays:,} plays" + (f" ({kinds})" if kinds else ""))
    if result.listening_ms:
        print(f"listening time: {_hours(result.listening_ms)}")
    if result.watching_ms:
        print(f"watching time: {_hours(result.watching_ms)}")
    if result.weeks:
        print("plays per week:")
        peak = max(w.plays for w in result.weeks) or 1
        chart = sys.stdout.isatty()  # a chart only for a person at a terminal
        coloured = colour()
        for week in result.weeks:
            day = datetime.fromtimestamp(week.start).strftime("%Y-%m-%d")
            if chart:
                bar = "█" * max(1 if week.plays else 0, round(week.plays / peak * BAR_WIDTH))
                bar = f"\033[36m{bar}\033[0m" if coloured else bar
                print(f"  {day} {bar} {week.plays:,}")
            else:
                print(f"  {day} {week.plays}")
    for title, rows in (
        ("top artists", result.artists),
        ("top tracks", result.tracks),
        ("top albums", result.albums),
        ("top shows", result.shows),
        ("top movies", result.movies),
    ):
        if rows:
            table = Table("#", title, "plays")
            for rank, row in enumerate(rows, start=1):
                table.add_row(str(rank), row.name, f"{row.plays:,}")
            table.print()
    if result.targets:
        table = Table("target", "has", "of", "share")
        for t in result.targets:
            share = f"{t.plays / t.of:.0%}" if t.of else "-"
            table.add_row(t.service, f"{t.plays:,}", f"{t.of:,}", share)
        table.print()


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="History")(stats)
