"""Building the Runtime at the CLI edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime


def build_runtime() -> Runtime:
    from scrobctl.cli.output import verbose, warn
    from scrobctl.config import load_settings
    from scrobctl.runtime import Runtime

    runtime = Runtime(settings=load_settings(), warn=warn)
    if verbose():
        import sys

        def log(line: str) -> None:
            print(f"http: {line}", file=sys.stderr)

        runtime.http_client = lambda: runtime.make_http(log=log)
    return runtime
