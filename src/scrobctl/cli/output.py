"""Rendering: the run's Output (status lines, the JSON envelope, one-line errors), consoles,
and the formats every command shares."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn


class Output:
    """What this run prints and how: made once per run (`main`, or the root callback), held by
    the Click context and handed to every command and renderer, so no switch outlives the run.

    --quiet and --verbose are set by the root callback, --json by each command that takes it
    (so that its errors come out as JSON too), the Ctrl-C message by the command wrapper.
    """

    def __init__(self, *, json: bool = False, quiet: bool = False, verbose: bool = False) -> None:
        self.json = json
        self.quiet = quiet
        self.verbose = verbose
        self.interrupted: Callable[[], str] | None = None

    def info(self, message: str) -> None:
        """A status line on stderr, unless --quiet."""
        if not self.quiet:
            print(message, file=sys.stderr)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    def data(self, data: Any, exit_code: int = 0) -> None:
        """A command's --json answer, in the one envelope every command shares (README "JSON
        output"): `{"data": ..., "exit_code": n}`; an error is `{"error": {...}}` instead."""
        import json  # here: a command without --json never needs it (issue #25)

        envelope = {"data": data, "exit_code": int(exit_code)}
        sys.stdout.write(json.dumps(envelope, indent=2, default=_plain) + "\n")

    def error(self, message: str, hint: str | None, code: int) -> None:
        """One line on stderr; with --json, `{"error": {"message", "hint", "exit_code"}}` on
        stdout, the hint apart so a script can show it or act on it."""
        if self.json:
            import json

            error = {"message": message, "hint": hint, "exit_code": int(code)}
            sys.stdout.write(json.dumps({"error": error}) + "\n")
        else:
            print(f"error: {message}; {hint}" if hint else f"error: {message}", file=sys.stderr)

    def interrupt_message(self) -> str:
        """What Ctrl-C says (exit code 130): what was kept and how to continue."""
        if self.interrupted is None:
            return "interrupted; nothing was lost, run the command again to continue"
        return str(self.interrupted())


def output(ctx: typer.Context, *, json: bool | None = None) -> Output:
    """This run's Output, from the context (made here when a test invokes a command alone);
    `json` is the command's --json, which also makes its errors JSON."""
    out = ctx.ensure_object(Output)
    if json is not None:
        out.json = json
    return out


def _plain(value: Any) -> Any:
    """What json.dumps cannot write itself: dataclasses, pydantic models (ISO-8601 times), and
    anything else as its text (paths)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return str(value)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def live_bar(*columns: ProgressColumn | str) -> Progress:
    """A started Rich progress bar on stderr that leaves nothing behind when it stops (the
    summary line says what happened); its owner calls `__exit__` (or `stop`) when done."""
    from rich.progress import Progress

    bar = Progress(*columns, console=err_console(), transient=True)
    bar.start()
    return bar


def out_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def colour() -> bool:
    """Colour for stdout as Rich decides it: at a terminal or with FORCE_COLOR, never with
    NO_COLOR (https://no-color.org); for the commands that print without Rich (issue #25)."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def plural(n: int, noun: str) -> str:
    """`1 play`, `2 plays`, `1,000 requests` (nouns here take an s)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


LOCAL_TIME = "%Y-%m-%d %H:%M:%S %z"


def local_time(ts: float | datetime | None) -> str:
    """A time in the local zone, with its zone shown (`2026-11-23 21:15:00 +0100`)."""
    if ts is None:
        return "-"
    if isinstance(ts, datetime):
        return ts.astimezone().strftime(LOCAL_TIME)
    if not 0 <= ts <= 253_402_214_400:  # inf from old pauses
        ts = 253_402_214_400
    if type(ts) is not int:  # whole seconds as datetime rounds them (to the microsecond)
        whole = int(ts)
        ts = whole + (round((ts - whole) * 1e6) >= 1_000_000)
    local = time.localtime(ts)
    if local.tm_gmtoff % 60 == 0:
        # A quarter of datetime's cost, once per row of history and queue list (issue #25).
        return time.strftime(LOCAL_TIME, local)
    # An offset in seconds (Liberia until 1972): %z of struct_time drops them, datetime's not.
    return datetime.fromtimestamp(ts, UTC).astimezone().strftime(LOCAL_TIME)
