"""Which server a target's URL leads to, found once at login and remembered (issue #19)."""

from __future__ import annotations

import httpx

from scrobctl.runtime import Runtime
from scrobctl.targets import MALOJA, Target


def _official(runtime: Runtime, target: Target) -> bool:
    """The kind's own service at its documented URL: nothing to find out."""
    default = type(getattr(runtime.settings, target.kind))().api_url
    return target.api_url(runtime).rstrip("/") == str(default).rstrip("/")


async def detect_server(runtime: Runtime, http: httpx.AsyncClient, target: Target) -> str | None:
    """ "maloja" when the server says it is one at `/apis/mlj_1/serverinfo`; None otherwise
    (the kind's own service, or a compatible server with no quirks scrobctl knows)."""
    if _official(runtime, target):
        return None
    from scrobctl.services import maloja

    info = await maloja.server_info(http, target.limiter(runtime), target.api_url(runtime))
    return MALOJA if info is not None else None
