"""`scrobctl doctor`."""

import typer

from scrobctl.cli.output import colour, output
from scrobctl.cli.params import JSON_OUTPUT
from scrobctl.errors import ExitCode

MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
STYLE = {"ok": "\033[32m", "warn": "\033[33m", "fail": "\033[1;31m"}  # green, yellow, bold red


def doctor(
    ctx: typer.Context,
    json_output: bool = JSON_OUTPUT,
    full: bool = typer.Option(
        False,
        "--full",
        help="Check every page of the database (PRAGMA integrity_check): about ten seconds"
        " per million plays.",
    ),
) -> None:
    """Check the keyring, the database, the configuration and the lock; change nothing.

    Exit code 1 when something needs fixing; each problem says what to do. The database's
    small tables (logins, settings, imports) are checked page by page; --full checks all.

    Example: scrobctl doctor
    """
    from dataclasses import asdict

    from scrobctl.doctor import run_checks

    out = output(ctx, json=json_output)
    checks = run_checks(full)
    failed = any(c.status == "fail" for c in checks)
    if json_output:
        out.data({"checks": [asdict(c) for c in checks]}, ExitCode.FAILED if failed else 0)
    else:
        coloured = colour()
        for c in checks:
            mark = f"{STYLE[c.status]}{MARK[c.status]}\033[0m" if coloured else MARK[c.status]
            print(f"{mark}  {c.name}: {c.detail}")
            if c.fix and c.status != "ok":
                print(f"      fix: {c.fix}")
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Setup")(doctor)
