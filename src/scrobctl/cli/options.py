"""Options several commands take with one meaning: declared once, so their names, defaults and
help read the same everywhere (Typer copies an option's declaration for each command)."""

import typer

SINCE = typer.Option(
    None, "--since", help="Only plays from this date on (7d, 2w, yesterday, 2026-01-01)."
)
PROFILE = typer.Option("default", "--profile", "-p", help="Local profile.")
JSON_OUTPUT = typer.Option(False, "--json", help="Print JSON.")
JSON_SUMMARY = typer.Option(False, "--json", help="Print the summary as JSON.")
