"""The Typer app. Commands parse options, call one use-case function and render the result.

A command's module is imported only when the command is used (COMMANDS), and heavy imports
(httpx, pydantic, keyring, rich) happen inside commands, so that each command's start-up stays
close to Typer's own cost.
"""

import os
import sys

import typer

from scrobctl import __version__
from scrobctl.cli import params
from scrobctl.cli.lazy import LazyGroup
from scrobctl.cli.listing import LISTING
from scrobctl.cli.output import Output, output
from scrobctl.errors import ExitCode, ScrobctlError, translate

params.install()  # plain option values without building pydantic adapters (issue #25)

# Each command's module under scrobctl.cli, in `--help`'s order: the module is imported, and its
# `register(app)` run, only when one of its commands is used (cli/lazy.py, issue #25).
COMMANDS = {
    "login": "login",
    "logout": "login",
    "status": "status",
    "scrobble": "scrobble",
    "flush": "flush",
    "import": "importing",
    "sync": "sync",
    "history": "history",
    "rate": "ratings",
    "doctor": "doctor",
    "unscrobble": "unscrobble",
    "explain": "explain",
    "stats": "stats",
    "export": "ratings",
    "watch": "watch",
    "config": "config_cmd",
    "serve": "serve",
    "queue": "queue",
    "completion": "completion",
    "tokens": "tokens",
    "notify": "notify",
}


class Commands(LazyGroup):
    MODULES = COMMANDS
    LISTING = LISTING


app = typer.Typer(
    name="scrobctl",
    cls=Commands,
    help="Scrobble and sync your watch and listen history.\n\n"
    "Pipe playback events into `scrobctl scrobble`, send them with `scrobctl flush` (from cron), "
    "and check on everything with `scrobctl status`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"scrobctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an error (or set SCROBCTL_DEBUG=1)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log each HTTP request (credentials redacted) to stderr."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print only warnings and errors (for cron)."
    ),
) -> None:
    if debug:
        os.environ["SCROBCTL_DEBUG"] = "1"
    out = output(ctx)
    out.verbose = verbose
    out.quiet = quiet


def _suggest(exc: Exception) -> None:
    """A choice typed wrong (`trackt`, `last.fm`) gets the closest one: "did you mean"."""
    import difflib
    import re

    message = getattr(exc, "message", None)
    found = re.search(r"'([^']*)' is not one of (.+)\.$", message or "")
    if found is None:
        return
    typed, choices = found.group(1), re.findall(r"'([^']*)'", found.group(2))
    plain = "".join(ch for ch in typed.lower() if ch.isalnum())
    close = difflib.get_close_matches(plain, choices, n=1, cutoff=0.6)
    if close:
        exc.message = f"{message} Did you mean {close[0]!r}?"  # type: ignore[attr-defined]


def _traceback_if_debug() -> None:
    """`--debug` adds the traceback; the one line and the exit code stay what they would be."""
    if os.environ.get("SCROBCTL_DEBUG"):
        import traceback

        traceback.print_exc()


def main() -> None:
    """Entry point: run the app and translate our typed errors into one line and an exit code."""
    out = Output()
    try:
        code = app(obj=out, standalone_mode=False)
    except ScrobctlError as exc:
        _traceback_if_debug()
        out.error(exc.message, exc.hint, exc.exit_code)
        sys.exit(exc.exit_code)
    except typer.Abort as exc:
        # Click turns Ctrl-C into Abort; a "no" at a prompt is an Abort too.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            print(out.interrupt_message(), file=sys.stderr)
        else:
            print("aborted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # typer's own (vendored click) usage errors
        _suggest(exc)
        code = getattr(exc, "exit_code", ExitCode.USAGE)
        show = getattr(exc, "show", None)
        if "--json" in sys.argv[1:] and hasattr(exc, "format_message"):
            # Parsing failed before the command could switch --json on: still the envelope.
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "scrobctl"
            out.json = True
            out.error(exc.format_message(), f"see `{where} --help`", code)
        elif show is not None:
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)
        sys.exit(code)
    except Exception as exc:
        translated = translate(exc)
        if translated is None:
            raise
        _traceback_if_debug()
        out.error(translated.message, translated.hint, translated.exit_code)
        sys.exit(translated.exit_code)
    except KeyboardInterrupt:
        print(out.interrupt_message(), file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    if code == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C into a silent exit code 130
        print(out.interrupt_message(), file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)
