"""The terminal side of a login: the code on its own line, the URL, the browser offer, a spinner."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import typer


class TerminalLoginUI:
    def __init__(self, open_browser: bool) -> None:
        self.interactive = sys.stdin.isatty() and sys.stderr.isatty()
        self._open_browser = open_browser

    def show_code(self, code: str | None, url: str, expires_in: int) -> None:
        minutes = max(1, expires_in // 60)
        if code:
            print(f"\nFirst copy your one-time code:\n\n    {code}\n", file=sys.stderr)
            print(f"Then enter it at {url} (within {minutes} minutes).", file=sys.stderr)
        else:
            print(f"\nAllow scrobctl access at:\n\n    {url}\n", file=sys.stderr)
            print(f"(The link works for {minutes} minutes.)", file=sys.stderr)

    def offer_browser(self, url: str) -> None:
        """Press Enter to open the browser, only with a person at a terminal."""
        if not (self._open_browser and self.interactive):
            return
        try:
            input("Press Enter to open it in your browser (Ctrl-C to cancel)... ")
        except EOFError:
            return
        import webbrowser

        if not webbrowser.open(url):
            print("Could not open a browser; open the link yourself.", file=sys.stderr)

    def waiting(self, message: str) -> AbstractContextManager[Any]:
        if not sys.stderr.isatty():
            print(f"{message}...", file=sys.stderr)
            return nullcontext()
        from scrobctl.cli.output import err_console

        return err_console().status(f"{message}...")

    def ask_app_credentials(self, service: str, help_text: str, fields: list[Any]) -> dict:
        print(f"scrobctl needs your own {service} API app: {help_text}.", file=sys.stderr)
        print("They are kept in the token store, never in the config file.", file=sys.stderr)
        return {f.name: typer.prompt(f.label, hide_input=f.secret) for f in fields}
