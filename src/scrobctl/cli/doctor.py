"""`scrobctl doctor`."""

from __future__ import annotations

import typer

from scrobctl.cli.output import out_console, output
from scrobctl.errors import ExitCode

MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check the keyring, the database, the configuration and the lock; change nothing.

    Exit code 1 when something needs fixing; each problem says what to do.

    Example: scrobctl doctor
    """
    from dataclasses import asdict

    from scrobctl.doctor import run_checks

    out = output(ctx, json=json_output)
    checks = run_checks()
    failed = any(c.status == "fail" for c in checks)
    if json_output:
        out.data({"checks": [asdict(c) for c in checks]}, ExitCode.FAILED if failed else 0)
    else:
        console = out_console()
        for c in checks:
            console.print(MARK[c.status], style=STYLE[c.status], end="")
            console.print(f"  {c.name}: {c.detail}", markup=False, highlight=False)
            if c.fix and c.status != "ok":
                console.print(f"      fix: {c.fix}", markup=False)
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Setup")(doctor)
