"""Building the Runtime at the CLI edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime


def build_runtime() -> Runtime:
    from scrobctl.cli.output import warn
    from scrobctl.config import load_settings
    from scrobctl.runtime import Runtime

    return Runtime(settings=load_settings(), warn=warn)
