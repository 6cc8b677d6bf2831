"""`scrobctl rate` and `scrobctl export ratings`."""

import typer

from scrobctl.cli.dates import parse_date
from scrobctl.cli.output import output
from scrobctl.cli.params import JSON_SUMMARY, PROFILE

export_app = typer.Typer(help="Send local data to a service as queued jobs.", no_args_is_help=True)


def rate(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="The item, by external id: tmdb:603, mbid:<uuid> ..."),
    rating: float = typer.Argument(..., help="Your rating, 1 to 10 (fractions allowed)."),
    profile: str = PROFILE,
) -> None:
    """Rate an item in your history on the 1-10 scale.

    Send it to a service with `scrobctl export ratings --to SERVICE`, then `scrobctl flush`.

    Example: scrobctl rate movie:tmdb:603 9
    """
    from scrobctl.cli.run import call
    from scrobctl.sync.rate import rate as do_rate

    out = output(ctx)
    rated = call(out, do_rate, item, rating, profile)
    out.info(f"rated {rated.kind} {rated.title}: {rated.rating:g}/10")


@export_app.command("ratings")
def export_ratings(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="The target to send ratings to (e.g. trakt)."),
    source: str | None = typer.Option(
        None, "--from", help="Only ratings that came from this target (default: all)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only ratings made from this date (7d, 2w, yesterday, 2026-01-01)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Count, queue nothing."),
    profile: str = PROFILE,
    json_output: bool = JSON_SUMMARY,
) -> None:
    """Queue your ratings for a service; `scrobctl flush` sends them.

    Only ratings the service does not already have with that value are queued, so running it
    again queues nothing, and a changed rating is queued again. Trakt and Simkl get whole
    numbers (7.5 rounds to 8); Last.fm gets a love at or above lastfm.love_threshold;
    ListenBrainz gets +1/-1 by listenbrainz.love_threshold/hate_threshold.

    Example: scrobctl export ratings --from trakt --to simkl
    """
    from scrobctl.cli.run import call
    from scrobctl.sync.export import export_ratings as do_export
    from scrobctl.sync.export import shown_value

    out = output(ctx, json=json_output)
    start = parse_date(since)
    summary = call(out, do_export, to, profile, source=source, since=start, dry_run=dry_run)
    reasons: dict[str, int] = {}
    for _, reason in summary.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    if json_output:
        out.data(
            {
                "service": to,
                "dry_run": dry_run,
                "queued": summary.queued,
                "already_there": summary.already_there,
                "queued_before": summary.unchanged,
                "not_exportable": reasons,
                "items": [{"item": name, "rating": value} for name, value in summary.planned],
            }
        )
        return
    verb = "would queue" if dry_run else "queued"
    out.info(
        f"{to}: {verb} {summary.queued}, already there {summary.already_there},"
        f" queued before {summary.unchanged}, not exportable {len(summary.skipped)}"
    )
    for reason, n in sorted(reasons.items()):
        out.info(f"  {n} not exportable: {reason}")
    if dry_run:
        # Say what would go where (issue 17): the first few, and how many more.
        for name, value in summary.planned[:SHOWN]:
            out.info(f"  {name}: {shown_value(summary.kind, value)}")
        if len(summary.planned) > SHOWN:
            out.info(f"  ... and {len(summary.planned) - SHOWN} more")


SHOWN = 20  # ratings listed by --dry-run


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Ratings")(rate)
    app.add_typer(export_app, name="export", rich_help_panel="Ratings")
