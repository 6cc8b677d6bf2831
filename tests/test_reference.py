"""README's command reference: generated from the CLI (scripts/generate_reference.py) and
current, so a command or option cannot be added without the README saying so."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from scrobctl.cli import reference
from scrobctl.cli.reference import BEGIN, END, markdown, replace, usage

README = Path(__file__).resolve().parent.parent / "README.md"
LISTING = Path(reference.__file__).with_name("listing.py")


def test_readme_command_reference_matches_the_cli() -> None:
    text = README.read_text(encoding="utf-8")

    assert replace(text) == text, "run `python scripts/generate_reference.py`"


def test_help_listing_matches_the_cli() -> None:
    """cli/listing.py (what `scrobctl --help` lists without importing the commands) is current."""
    assert reference.listing() == LISTING.read_text(encoding="utf-8"), (
        "run `python scripts/generate_reference.py`"
    )


def test_reference_stands_in_the_commands_section() -> None:
    text = README.read_text(encoding="utf-8")

    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    assert BEGIN in section and END in section


def test_every_command_that_runs_something_has_a_row() -> None:
    from tests.helpers import command_paths, lookup

    table = markdown()
    for path in command_paths():
        command = lookup(path)
        if path and not getattr(command, "commands", None):
            assert f"| `{' '.join(path)}" in table, " ".join(path)


def test_a_new_option_makes_the_readme_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    real = reference.usage

    def with_new_option(command: object, path: tuple[str, ...]) -> str:
        return real(command, path) + (" [--new]" if path == ("status",) else "")

    monkeypatch.setattr(reference, "usage", with_new_option)

    assert replace(text) != text
    assert "| `status [--json] [--check] [--new]` |" in replace(text)


def test_usage_shows_arguments_choices_flags_and_repeats() -> None:
    app = typer.Typer(add_completion=False)

    @app.command()
    def demo(
        name: str = typer.Argument(...),
        rest: list[str] = typer.Argument(None),
        size: int = typer.Option(1, "--size", "-s"),
        tag: list[str] = typer.Option([], "--tag"),
        to: str = typer.Option(..., "--to"),
        dry_run: bool = typer.Option(False, "--dry-run", "-n"),
        colour: bool = typer.Option(True, "--colour/--no-colour"),
    ) -> None:
        """Demo."""

    command = typer.main.get_command(app)

    assert usage(command, ("demo",)) == (
        "demo NAME [REST...] [--size SIZE] [--tag TAG]... --to TO [--dry-run]"
        " [--colour|--no-colour]"
    )


def test_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        replace("# README\n\nno reference here\n")
