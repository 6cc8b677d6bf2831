"""The console-script entry point, with fast paths that skip building the CLI.

Running any Typer app costs about twice `import typer` (it builds pydantic adapters for every
parameter). `--version` and a `flush` that finds nothing due are answered before that, because
they run on every cron tick and in player hooks.
"""

from __future__ import annotations

import sys

FLUSH_FAST_ARGS = {"-q", "--quiet"}


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        from scrobctl import __version__

        print(f"scrobctl {__version__}")
        return
    if args and args[0] == "flush" and set(args[1:]) <= FLUSH_FAST_ARGS:
        from scrobctl.errors import ScrobctlError
        from scrobctl.paths import DB_NAME, data_dir, missing_config, token_file_private
        from scrobctl.store.probe import nothing_due

        try:
            folder = data_dir()
            # Something to warn about (a token file readable by others, a SCROBCTL_CONFIG
            # that does not exist): the full command below says it.
            quiet = token_file_private(folder) and missing_config() is None
            if quiet and nothing_due(folder / DB_NAME):
                return
        except ScrobctlError:
            pass  # the full CLI below reports it in one line, with its exit code
    from scrobctl.cli import main as cli_main

    cli_main()
