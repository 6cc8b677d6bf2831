"""`scrobctl config show|path|edit|set`."""

import sys

import typer

from scrobctl.cli.output import out_console, output
from scrobctl.cli.params import JSON_OUTPUT

app = typer.Typer(
    help="See the settings in effect and where each came from; change the settings file.",
    no_args_is_help=True,
)


@app.command("show")
def show(ctx: typer.Context, json_output: bool = JSON_OUTPUT) -> None:
    """Every setting in effect and where it came from (default, file or environment).
    Credentials are never shown, only whether they are set.

    Example: scrobctl config show
    """
    from dataclasses import asdict

    from scrobctl.config import load_settings
    from scrobctl.configure import show as run

    out = output(ctx, json=json_output)
    views = run(load_settings())
    if json_output:
        out.data({"settings": [asdict(v) for v in views]})
        return
    from rich.table import Table

    table = Table("setting", "value", "from")
    for v in views:
        if v.secret:
            value = "(set, hidden)" if v.is_set else "(not set)"
        else:
            value = "(not set)" if v.value is None else _text(v.value)
        where = f"environment ({v.env})" if v.source == "environment" else v.source
        table.add_row(v.key, value, where)
    out_console().print(table)


def _text(value: object) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the settings file's path (SCROBCTL_CONFIG, or the platform's config folder).

    Example: scrobctl config path
    """
    from scrobctl import paths

    out = output(ctx)
    config = paths.config_file()
    print(config)
    if not config.is_file():
        out.info("(it does not exist yet; `scrobctl config set` or `config edit` makes it)")


@app.command("set")
def set_(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="The setting, dotted: trakt.client_id, lastfm.podcasts."),
    value: str = typer.Argument(..., help="Its new value (true/false, a number, or text)."),
) -> None:
    """Write one setting into the settings file, keeping its comments and layout. The file
    is checked before it is replaced.

    Example: scrobctl config set listenbrainz.api_url https://listenbrainz.example.org
    """
    from scrobctl.configure import SECRET_FIELDS, env_name, set_value

    out = output(ctx)
    written = set_value(key, value)
    shown = "(hidden)" if key.rsplit(".", 1)[-1] in SECRET_FIELDS else value
    out.info(f"{key} = {shown} in {written}")
    import os

    if env_name(key) in {k.upper() for k in os.environ}:
        out.info(f"note: {env_name(key)} is set and wins over the file")


@app.command("edit")
def edit(ctx: typer.Context) -> None:
    """Open the settings file in $VISUAL or $EDITOR (default vi); the edited file replaces it
    only if it is valid, else you are asked to edit it again.

    Example: EDITOR=nano scrobctl config edit
    """
    import os
    import shlex
    import subprocess
    from pathlib import Path

    from scrobctl.configure import edit as run

    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")

    def open_editor(copy: Path) -> int:
        return subprocess.call([*editor, str(copy)])

    def again(problem: str) -> bool:
        print(f"error: {problem}", file=sys.stderr)
        return sys.stdin.isatty() and typer.confirm("edit it again?", default=True)

    saved = run(open_editor, again)
    output(ctx).info("settings saved" if saved else "nothing changed")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="config", rich_help_panel="Setup")
