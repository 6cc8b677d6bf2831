"""Rendering helpers: one stderr console, JSON to stdout, one-line errors."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import BaseModel
    from rich.console import Console

_state: dict[str, Any] = {"json": False, "quiet": False, "verbose": False, "interrupted": None}


def set_json(enabled: bool) -> None:
    """Commands with --json call this so that errors come out as JSON too."""
    _state["json"] = enabled


def json_mode() -> bool:
    return bool(_state["json"])


def on_interrupt(message: Callable[[], str]) -> None:
    """What Ctrl-C in the running command says: what was kept and how to continue."""
    _state["interrupted"] = message


def interrupt_message() -> str:
    message = _state["interrupted"]
    if message is None:
        return "interrupted; nothing was lost, run the command again to continue"
    return str(message())


def set_quiet(enabled: bool) -> None:
    _state["quiet"] = enabled


def quiet() -> bool:
    return bool(_state["quiet"])


def set_verbose(enabled: bool) -> None:
    _state["verbose"] = enabled


def verbose() -> bool:
    return bool(_state["verbose"])


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def colour() -> bool:
    """Colour for stdout as Rich decides it: at a terminal or with FORCE_COLOR, never with
    NO_COLOR (https://no-color.org)."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def info(message: str) -> None:
    """A status line on stderr, unless --quiet."""
    if not quiet():
        print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_model(model: BaseModel) -> None:
    sys.stdout.write(model.model_dump_json(indent=2) + "\n")


def print_error(message: str, code: int) -> None:
    if json_mode():
        sys.stdout.write(json.dumps({"error": message, "exit_code": code}) + "\n")
    else:
        print(f"error: {message}", file=sys.stderr)


def plural(n: int, noun: str) -> str:
    """`1 play`, `2 plays`, `1,000 requests` (nouns here take an s)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def local_time(ts: float | datetime | None) -> str:
    """A time in the local zone, with its zone shown (`2026-11-23 21:15:00 +0100`)."""
    if ts is None:
        return "-"
    if not isinstance(ts, datetime) and not 0 <= ts <= 253_402_214_400:  # inf from old pauses
        ts = 253_402_214_400
    when = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
