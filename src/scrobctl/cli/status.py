"""`scrobctl status`."""

import sys
from typing import TYPE_CHECKING

import typer

from scrobctl.cli.output import local_time, output, plural
from scrobctl.errors import ExitCode

if TYPE_CHECKING:
    from scrobctl.status import StatusReport


def status(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    check: bool = typer.Option(
        False, "--check", help="Also ask each service whether its login still works."
    ),
) -> None:
    """Show connections, queue counts, and where data and tokens are kept.

    Each login's token is looked up in the token store in use. With --check, every connection
    is tried online (refreshing a Trakt token when due). The exit code is 3 when a connection
    needs a new login or its token is not in the store in use.

    Example: scrobctl status --json | jq '.data.queue'
    """
    from scrobctl.cli.run import Command
    from scrobctl.status import build_status

    out = output(ctx, json=json_output)
    with Command(out) as cmd:
        checks = None
        if check:
            from scrobctl.accounts.check import check_connections

            checks = cmd.call(check_connections)
        report = cmd.call(build_status, checks)
    needs_login = [
        c for c in report.connections if c.status == "reconnect_required" or c.token != "present"
    ]
    if json_output:
        out.data(_payload(report), ExitCode.RECONNECT if needs_login else ExitCode.OK)
    else:
        _render(report)
    if not json_output:
        for c in report.connections:
            if (c.status != "ok" or c.token != "present") and c.detail:
                print(f"{c.service}: {c.detail}", file=sys.stderr)
    if needs_login:
        raise typer.Exit(ExitCode.RECONNECT)


def _payload(report: "StatusReport") -> dict:
    """The report as JSON values, times in ISO 8601 with `Z` for UTC (as its pydantic model
    wrote them before it became a dataclass, issue #25)."""
    from dataclasses import asdict
    from datetime import datetime

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(asdict(report))  # type: ignore[return-value]


def _render(report: "StatusReport") -> None:
    from scrobctl.cli.table import Table

    print(f"scrobctl {report.version}")
    print(f"database:    {report.database}")
    print(f"token store: {report.token_store}")
    print(f"plays:       {report.plays}")
    if report.connections:
        table = Table("profile", "service", "account", "status", "token until", title="connections")
        for c in report.connections:
            state = c.status.replace("_", " ")
            if c.token != "present":
                state = f"token {c.token}"
            if c.deferred_until:
                state += f" (paused until {local_time(c.deferred_until)})"
            if c.checked is not None:
                state += " (checked)" if c.checked else f" (check failed: {c.detail})"
            expiry = local_time(c.token_expires_at) if c.token_expires_at else "-"
            name = f"{c.service} ({c.server})" if c.server else c.service
            table.add_row(c.profile, name, c.account or "-", state, expiry)
        table.print()
    else:
        print("connections: none yet (try `scrobctl login listenbrainz`)")
    if report.queue:
        states = ("available", "running", "retryable", "completed", "discarded", "rejected")
        table = Table("service", *states, title="queue")
        for service, by_state in sorted(report.queue.items()):
            table.add_row(service, *(str(by_state[s]) for s in states))
        table.print()
    else:
        print("queue:       empty")
    for imp in report.imports:
        if imp.state == "done":
            continue
        name = imp.service if imp.profile == "default" else f"{imp.service} ({imp.profile})"
        entries = "entry" if imp.processed == 1 else "entries"
        said = f"import {name}: {imp.state} after {imp.processed} {entries}"
        if imp.state == "running":
            print(f"{said} so far")
        else:
            why = f" ({imp.detail})" if imp.detail else ""
            print(f"{said}{why}; `{imp.command}` continues it")
    for gap in report.lacking:
        name = gap.target if gap.profile == "default" else f"{gap.target} ({gap.profile})"
        print(
            f"{name}: {plural(gap.plays, 'archived play')} recorded before this login"
            f" {'is' if gap.plays == 1 else 'are'} not on it; `{gap.command}` queues what"
            " it lacks for the next `scrobctl flush`"
        )


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Inspect")(status)
