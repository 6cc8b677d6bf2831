"""`scrobctl status`."""

from __future__ import annotations

import typer

from scrobctl.cli.output import local_time, out_console, print_model, set_json


def status(
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show connections, queue counts, and where data and tokens are kept.

    Example: scrobctl status --json | jq '.queue'
    """
    from scrobctl.cli.context import build_runtime
    from scrobctl.status import build_status

    set_json(json_output)
    runtime = build_runtime()
    try:
        report = build_status(runtime)
    finally:
        runtime.close()
    if json_output:
        print_model(report)
        return
    from rich.table import Table

    console = out_console()
    console.print(f"scrobctl {report.version}")
    console.print(f"database:    {report.database}")
    console.print(f"token store: {report.token_store}")
    console.print(f"plays:       {report.plays}")
    if report.connections:
        table = Table("profile", "service", "account", "status", title="connections")
        for c in report.connections:
            state = c.status.replace("_", " ")
            if c.deferred_until:
                state += f" (paused until {local_time(c.deferred_until)})"
            table.add_row(c.profile, c.service, c.account or "-", state)
        console.print(table)
    else:
        console.print("connections: none yet (try `scrobctl login listenbrainz`)")
    if report.queue:
        states = ("available", "running", "retryable", "completed", "discarded")
        table = Table("service", *states, title="queue")
        for service, by_state in sorted(report.queue.items()):
            table.add_row(service, *(str(by_state[s]) for s in states))
        console.print(table)
    else:
        console.print("queue:       empty")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Inspect")(status)
