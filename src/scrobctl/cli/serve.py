"""`scrobctl serve`: the local receiver for media-server webhooks and other scrobblers, and
`scrobctl serve token add|list|remove` for the tokens its sources present."""

import re
import sys
from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from scrobctl.cli.output import out_console, output
from scrobctl.cli.params import JSON_OUTPUT
from scrobctl.errors import UsageError

if TYPE_CHECKING:
    from scrobctl.scrobble.flush import FlushReport

app = typer.Typer(invoke_without_command=True)
token_app = typer.Typer(
    help="Tokens for the sources that send to `scrobctl serve`.", no_args_is_help=True
)
app.add_typer(token_app, name="token")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class UnitKind(StrEnum):
    systemd = "systemd"
    launchd = "launchd"


def parse_duration(text: str) -> float:
    """`90`, `30s`, `5m`, `1h` as seconds (at least one second)."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"--flush-every: {text!r} is not a duration (e.g. 30s, 5m, 1h)")
    seconds = float(match[1]) * _UNIT[match[2]]
    if seconds < 1:
        raise UsageError("--flush-every: at least 1s")
    return seconds


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _flushed(report: "FlushReport") -> None:
    """A `--flush-every` round, one line a target, as `scrobctl flush` says it."""
    from scrobctl.cli.flush import service_line

    for r in report.services:
        _log(f"flush: {service_line(r)}")


@app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (loopback unless you say otherwise)."
    ),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port (0: any free one)."),
    flush_every: str | None = typer.Option(
        None,
        "--flush-every",
        metavar="DURATION",
        help="Also send the queue every DURATION (30s, 5m, 1h), under cron flush's lock.",
    ),
    print_unit: UnitKind | None = typer.Option(
        None, "--print-unit", help="Print a systemd user unit or launchd agent and exit."
    ),
) -> None:
    """Receive plays over HTTP: /plex, /jellyfin, /emby, /1/submit-listens (ListenBrainz) and
    /2.0/ (Last.fm). Each source sends its own token (`scrobctl serve token add NAME`); every
    request goes through the same thresholds and duplicate rules as `scrobctl scrobble` and is
    answered once its plays are committed. SIGTERM finishes the request in hand and exits.

    Example: scrobctl serve token add plex --account alice && scrobctl serve --flush-every 5m
    """
    if ctx.invoked_subcommand is not None:
        return
    interval = parse_duration(flush_every) if flush_every is not None else None
    if print_unit is not None:
        from scrobctl.serve.units import launchd_plist, systemd_unit

        argv = [_executable(), "serve", "--host", host, "--port", str(port)]
        if flush_every is not None:
            argv += ["--flush-every", flush_every]
        if print_unit is UnitKind.systemd:
            text = systemd_unit(argv)
        else:
            from pathlib import Path

            text = launchd_plist(argv, str(Path.home() / "Library/Logs/scrobctl-serve.log"))
        sys.stdout.write(text)
        return
    from scrobctl.cli.context import build_runtime
    from scrobctl.paths import data_dir
    from scrobctl.serve.run import bind, is_loopback
    from scrobctl.serve.run import serve as run_serve
    from scrobctl.serve.tokens import ServeTokens

    tokens = ServeTokens(data_dir())
    count = len(tokens.verifier())
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    address = sock.getsockname()
    shown = f"[{address[0]}]" if ":" in address[0] else address[0]
    _log(f"listening on http://{shown}:{address[1]} ({count} source token(s))")
    if count == 0:
        _log("warning: no tokens yet, every request is refused; `scrobctl serve token add NAME`")
    if not is_loopback(host):
        _log(
            f"warning: listening on {host}, not loopback: tokens travel in clear text, so put"
            " a TLS proxy in front of it when it is reachable from other machines"
        )
    from functools import partial

    out = output(ctx)
    runtimes = partial(build_runtime, out)  # one runtime per arrival, each closed after it
    run_serve(
        runtimes,
        tokens,
        sock,
        flush_every=interval,
        log=_log,
        flushed=_flushed,
        log_arrivals=out.verbose,
    )


def _executable() -> str:
    import shutil
    from pathlib import Path

    found = shutil.which("scrobctl")
    if found:
        return str(Path(found).resolve())
    return str(Path(sys.argv[0]).resolve())


@token_app.command("add")
def token_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The source's name, e.g. plex, jellyfin, phone."),
    profile: str = typer.Option("default", "--profile", "-p", help="Profile of its plays."),
    account: str | None = typer.Option(
        None,
        "--account",
        help="Keep only this media-server user's plays (Plex account, Jellyfin/Emby user).",
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing token."),
) -> None:
    """Make a token for one source and print it (it is shown this once; only its hash is kept).

    Example: scrobctl serve token add plex --account alice
    """
    from scrobctl.paths import data_dir
    from scrobctl.serve.tokens import ServeTokens

    token = ServeTokens(data_dir()).add(name, profile, account, replace=replace)
    print(token)
    output(ctx).info(f"token for {name!r} added; it is not shown again")


@token_app.command("list")
def token_list(ctx: typer.Context, json_output: bool = JSON_OUTPUT) -> None:
    """List the sources that have a token (never the tokens).

    Example: scrobctl serve token list
    """
    from scrobctl.paths import data_dir
    from scrobctl.serve.tokens import ServeTokens

    out = output(ctx, json=json_output)
    entries = ServeTokens(data_dir()).list()
    if json_output:
        out.data(
            {
                "tokens": [
                    {
                        "name": e.name,
                        "profile": e.profile,
                        "account": e.account,
                        "created_at": e.created_at,
                    }
                    for e in entries
                ]
            }
        )
        return
    if not entries:
        out.info("no tokens; add one with `scrobctl serve token add NAME`")
        return
    for e in entries:
        out_console().print(
            f"{e.name}\tprofile {e.profile}\taccount {e.account or '(all)'}", highlight=False
        )


@token_app.command("remove")
def token_remove(
    ctx: typer.Context, name: str = typer.Argument(..., help="The source's name.")
) -> None:
    """Remove a source's token; its requests are refused from then on.

    Example: scrobctl serve token remove plex
    """
    from scrobctl.paths import data_dir
    from scrobctl.serve.tokens import ServeTokens

    if not ServeTokens(data_dir()).remove(name):
        raise UsageError(f"no token named {name!r}")
    output(ctx).info(f"token for {name!r} removed")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="serve", rich_help_panel="Scrobbling")
