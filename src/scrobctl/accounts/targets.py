"""Which target a `login` is for: the default one of a kind, or a named one with its own URL."""

from __future__ import annotations

import re

import httpx

from scrobctl.errors import UsageError
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.targets import KINDS, Target

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


def _check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"{url!r} is not an http(s) URL", "give the server's API root")
    return url


def target_for_login(
    runtime: Runtime, profile: str, kind: str, name: str | None, url: str | None
) -> Target:
    """The target to log in to. A named target keeps the URL it has when no --url is given; a
    new one without --url is a second account on the kind's own service (a second Trakt
    account), with the kind's API app."""
    name = name or kind
    if not NAME.match(name):
        raise UsageError(
            f"{name!r} is not a target name",
            "use lower-case letters, digits, '.', '-' or '_' (e.g. maloja)",
        )
    if name != kind and name in KINDS:
        raise UsageError(f"{name} is the name of the {name} kind's own target; pick another name")
    existing = connections.get_connection(runtime.store(), profile, name)
    if existing is not None and existing.kind != kind:
        raise UsageError(
            f"{name} is a {existing.kind} target",
            f"run `scrobctl login {existing.kind} --name {name}`",
        )
    if url is None and existing is not None:
        url = existing.url
    return Target(profile, name, kind, _check_url(url) if url else None, None)


def known_account(runtime: Runtime, profile: str, name: str) -> str | None:
    """The account name a target was last logged in with, for a login again."""
    connection = connections.get_connection(runtime.store(), profile, name)
    return connection.account if connection else None
