"""Rendering helpers: one stderr console, JSON to stdout, one-line errors."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

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


def info(message: str) -> None:
    """A status line on stderr, unless --quiet."""
    if not quiet():
        print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


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


def print_data(data: Any, exit_code: int = 0) -> None:
    """A command's --json answer, in the one envelope every command shares (README "JSON
    output"): `{"data": ..., "exit_code": n}`; an error is `{"error": {...}}` instead."""
    envelope = {"data": data, "exit_code": int(exit_code)}
    sys.stdout.write(json.dumps(envelope, indent=2, default=_plain) + "\n")


def print_error(message: str, hint: str | None, code: int) -> None:
    """One line on stderr; with --json, `{"error": {"message", "hint", "exit_code"}}` on
    stdout, the hint apart so a script can show it or act on it."""
    if json_mode():
        error = {"message": message, "hint": hint, "exit_code": int(code)}
        sys.stdout.write(json.dumps({"error": error}) + "\n")
    else:
        print(f"error: {message}; {hint}" if hint else f"error: {message}", file=sys.stderr)


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
