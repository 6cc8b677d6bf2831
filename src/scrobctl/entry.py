"""The console-script entry point, with fast paths that skip the CLI.

Any command costs at least `import typer`; `--version` and a `flush` that finds nothing due are
answered before Typer is imported, because they run on every cron tick and in player hooks.
Every other command goes to `scrobctl.cli`, which imports only that command's module.
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

        try:
            if nothing_to_flush():
                return
        except ScrobctlError:
            pass  # the full CLI below reports it in one line, with its exit code
    from scrobctl.cli import main as cli_main

    cli_main()


def nothing_to_flush() -> bool:
    """The empty flush, for both fast paths (here and `cli/flush.py`): no job is due and the
    token file, if any, is private and a SCROBCTL_CONFIG names a file that exists (else the full
    command runs and warns about it). Two stats and one read-only query, without building the
    runtime."""
    from scrobctl.paths import DB_NAME, data_dir, missing_config, token_file_private
    from scrobctl.store.probe import nothing_due

    folder = data_dir()
    if not token_file_private(folder) or missing_config() is not None:
        return False
    return nothing_due(folder / DB_NAME)
