"""Building the Runtime at the CLI edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrobctl.cli.output import Output
    from scrobctl.runtime import Runtime


def build_runtime(out: Output | None = None, *, read_only: bool = False) -> Runtime:
    """The runtime of a command run; its warnings and --verbose's HTTP log go through `out`.

    `read_only`: a command that reads the archive and sends nothing (history, queue list,
    explain) leaves the settings unread until something needs them, so it builds no pydantic
    model (issue #25); every other command reads and checks them first."""
    from scrobctl.cli.output import Output
    from scrobctl.runtime import Runtime

    out = out or Output()
    if read_only:
        runtime = Runtime(settings=None, warn=out.warn)
    else:
        from scrobctl.config import load_settings

        runtime = Runtime(settings=load_settings(), warn=out.warn)
    _warn_exposed_tokens(runtime)
    _warn_missing_config(runtime)
    if out.verbose:
        import sys

        def log(line: str) -> None:
            print(f"http: {line}", file=sys.stderr)

        runtime.http_client = lambda: runtime.make_http(log=log)
    return runtime


def _warn_exposed_tokens(runtime: Runtime) -> None:
    """Every command says so while the token file is readable by others (not only `doctor`):
    one stat, without importing the token stores (kinds, tempfile: ~5 ms, issue #25)."""
    from scrobctl.paths import TOKEN_FILE_NAME, exposed_mode

    path = runtime.data_dir / TOKEN_FILE_NAME
    mode = exposed_mode(path)
    if mode is not None:
        runtime.warn(f"{path} is mode {mode:o}, readable by others; run `chmod 600 {path}`")


def _warn_missing_config(runtime: Runtime) -> None:
    """Every command says so when SCROBCTL_CONFIG names a file that is not there."""
    from scrobctl.paths import missing_config

    path = missing_config()
    if path is not None:
        runtime.warn(
            f"SCROBCTL_CONFIG names {path}, which does not exist: none of its settings are"
            " used; create it, or unset SCROBCTL_CONFIG"
        )
