"""Typer parameters: the options several commands share, and plain option values without
pydantic.

An option several commands take with one meaning is declared here once (SINCE, PROFILE, the two
--json wordings), so its name, default and help read the same everywhere; Typer copies the
declaration for each command. The root imports this module at every start-up, so a command
that uses them imports nothing more.

Typer (0.29) coerces every parameter it processes through a pydantic TypeAdapter built on first
use (typer/core.py `_TyperParameter.process_value`, typer/_adapters.py) — even the automatic
`--help` option's None and a str bound for a str parameter. The first adapter imports pydantic
and scans the installed packages for pydantic plugins: about 110 ms of every command's start-up,
more than `import typer` itself (issue #25).

The values that need no conversion are given here exactly what Typer's adapter would give; any
other value (and any value that would be an error) still goes through Typer's own adapter, so
conversions and error messages stay Typer's.
"""

import re
from enum import Enum
from typing import Any, get_origin

import typer

SINCE = typer.Option(
    None, "--since", help="Only plays from this date on (7d, 2w, yesterday, 2026-01-01)."
)
PROFILE = typer.Option("default", "--profile", "-p", help="Local profile.")
JSON_OUTPUT = typer.Option(False, "--json", help="Print JSON.")
JSON_SUMMARY = typer.Option(False, "--json", help="Print the summary as JSON.")

_INT = re.compile(r"-?[0-9]{1,18}\Z")
_UNHANDLED = object()


def plain_value(param: Any, value: Any) -> Any:
    """What Typer's adapter returns for `value`, or _UNHANDLED when only it can say."""
    desc = param.type_descriptor
    info = desc.parameter_info
    multi = param.multiple or param.nargs == -1
    if value is None:
        return () if multi else None
    if getattr(info, "parser", None) is not None or desc.file_annotation is not None:
        return _UNHANDLED
    annotation = desc.annotation
    if multi:
        if get_origin(annotation) is list and isinstance(value, list | tuple) and not value:
            return []
        return _UNHANDLED
    if param.nargs != 1:
        return _UNHANDLED
    if annotation is str and type(value) is str:
        return value
    if annotation is int and not info.clamp:
        if type(value) is int or (type(value) is str and _INT.match(value)):
            number = int(value)
            low_ok = info.min is None or number >= info.min
            if low_ok and (info.max is None or number <= info.max):
                return number
        return _UNHANDLED
    if isinstance(annotation, type) and issubclass(annotation, Enum) and info.case_sensitive:
        if isinstance(value, annotation):
            return value
        for member in annotation:
            if type(value) is str and member.value == value:
                return member
    return _UNHANDLED


def install() -> None:
    """Let Typer's parameters take plain values without building an adapter."""
    from typer._click.exceptions import MissingParameter
    from typer.core import _TyperParameter

    original = _TyperParameter.process_value
    if getattr(original, "plain_values", False):
        return

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if self._runtime_param is None:  # no adapter built yet: this value may need none
            plain = plain_value(self, value)
            if plain is not _UNHANDLED:
                if self.required and self.value_is_missing(plain):
                    raise MissingParameter(ctx=ctx, param=self)
                if self.callback is not None:
                    plain = self.callback(ctx, self, plain)
                return plain
        return original(self, ctx, value)

    process_value.plain_values = True  # type: ignore[attr-defined]
    _TyperParameter.process_value = process_value  # type: ignore[method-assign]
