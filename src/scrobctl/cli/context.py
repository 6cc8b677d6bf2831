"""Building the Runtime at the CLI edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime


def build_runtime(read_only: bool = False) -> Runtime:
    """`read_only`: a command that reads the archive and sends nothing (history, queue list,
    explain, stats) leaves the settings unread until something needs them (issue #25); every
    other command reads and checks them first, as before."""
    from scrobctl.cli.output import verbose, warn
    from scrobctl.runtime import Runtime

    if read_only:
        runtime = Runtime(settings=None, warn=warn)
    else:
        from scrobctl.config import load_settings

        runtime = Runtime(settings=load_settings(), warn=warn)
    _warn_exposed_tokens(runtime)
    if verbose():
        import sys

        def log(line: str) -> None:
            print(f"http: {line}", file=sys.stderr)

        runtime.http_client = lambda: runtime.make_http(log=log)
    return runtime


def _warn_exposed_tokens(runtime: Runtime) -> None:
    """Every command says so while the token file is readable by others (not only `doctor`)."""
    from scrobctl.paths import TOKEN_FILE_NAME
    from scrobctl.tokens import exposed_mode

    path = runtime.data_dir / TOKEN_FILE_NAME
    mode = exposed_mode(path)
    if mode is not None:
        runtime.warn(f"{path} is mode {mode:o}, readable by others; run `chmod 600 {path}`")
