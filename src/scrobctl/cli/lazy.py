"""The root command group, loading each command's module when that command is used.

Typer builds a Click command for every registered function at each start-up, and every command
module was imported for it: 21 modules and ~80 parameters read and converted so that one command
could run (issue #25). Here the root knows each command's name and module, imports the module on
the first look-up of one of its names (running it, its `--help`, completion, the reference), and
builds only what that module registers. `scrobctl --help` lists the commands from `listing.py`,
the first paragraph of each one's help, generated from the commands themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from gettext import gettext
from typing import Any

import typer
import typer.main
from typer._click import Context, HelpFormatter
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup

PACKAGE = "scrobctl.cli"


class LazyCommands(MutableMapping[str, Any]):
    """name → Click command, importing the command's module on the first look-up of one of its
    names; iterating gives the names alone, in `modules`' order, without importing anything."""

    def __init__(self, modules: Mapping[str, str], group: TyperGroup) -> None:
        self._modules = dict(modules)
        self._group = group
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            module = self._modules[name]  # KeyError: no such command
            self._built.update(self._load(module))
            if name not in self._built:
                raise RuntimeError(f"{PACKAGE}.{module}.register adds no command {name!r}")
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __setitem__(self, name: str, command: Any) -> None:
        self._modules.setdefault(name, "")
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._modules[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def _load(self, module_name: str) -> dict[str, Any]:
        """The Click commands `module.register(app)` adds, built as Typer builds a group's."""
        module = importlib.import_module(f"{PACKAGE}.{module_name}")
        holder = typer.Typer(rich_markup_mode=self._group.rich_markup_mode)
        module.register(holder)
        return dict(typer.main.get_group(holder).commands)


class LazyGroup(TyperGroup):
    """A Typer group whose commands are `MODULES` (name → module under scrobctl.cli, in
    `--help`'s order) and whose `--help` lists `LISTING` (name → first paragraph of its help):
    a subclass sets both."""

    MODULES: Mapping[str, str] = {}
    LISTING: Mapping[str, str] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.MODULES, self)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """TyperGroup's listing (each command's short help, cut to the width left), from
        LISTING; a command missing from it is loaded and asked, as TyperGroup would."""
        shown: list[tuple[str, Any]] = []
        for name in self.list_commands(ctx):
            if name in self.LISTING:
                shown.append((name, None))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                shown.append((name, command))
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        rows = [
            (name, cmd.get_short_help_str(limit) if cmd else _short(self.LISTING[name], limit))
            for name, cmd in shown
        ]
        with formatter.section(gettext("Commands")):
            formatter.write_dl(rows)


def _short(paragraph: str, limit: int) -> str:
    """What Click's `get_short_help_str` makes of a help whose first paragraph this is."""
    return make_default_short_help(paragraph, limit).strip()
