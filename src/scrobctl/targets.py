"""Targets: named accounts on servers of one kind (issue #19, DESIGN "Sources and targets").

A target has a name, a kind (the client that speaks to it: listenbrainz, lastfm, trakt, simkl),
its own URL, token, queue, rate limit and record of what it has. The default target of a kind is
named after the kind and uses the configured URL, so connections made before targets existed are
targets already. What a server can take (batch size, endpoints it lacks) belongs to its server
type, found at login and remembered in the connection row: never guessed per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrobctl import kinds as _kinds
from scrobctl.errors import UsageError
from scrobctl.kinds import MALOJA, SERVERS, ServerType

if TYPE_CHECKING:
    from scrobctl.http import ServiceLimiter
    from scrobctl.runtime import Runtime
    from scrobctl.store.connections import Connection

# The kinds and server types are declared in kinds.py; these names are kept for their users.
KINDS = tuple(_kinds.KINDS)
# Kinds a named target may have (all of them since issue 19).
__all__ = ["KINDS", "MALOJA", "SERVERS", "ServerType", "Target"]


@dataclass(frozen=True)
class Target:
    profile: str
    name: str
    kind: str
    url: str | None  # its own API root; None: the configured one for the kind
    server: str | None  # a key of SERVERS, or None for the kind's own service
    # A Last.fm-compatible server found to take only single scrobbles (remembered in its
    # connection row, connections.SINGLE_SCROBBLES).
    single_scrobbles: bool = False

    @property
    def server_type(self) -> ServerType | None:
        return SERVERS.get(self.server or "")

    @property
    def label(self) -> str:
        """How messages name it: "maloja (Maloja)" or just "listenbrainz"."""
        server = self.server_type
        return f"{self.name} ({server.label})" if server else self.name

    @property
    def login_hint(self) -> str:
        from scrobctl.errors import login_hint

        return login_hint(self.name, self.profile, self.kind)

    def api_url(self, runtime: Runtime) -> str:
        if self.url:
            return self.url
        return str(getattr(runtime.settings, self.kind).api_url)

    def auth_url(self, runtime: Runtime) -> str:
        """Where its OAuth endpoints are: the kind's auth host (Trakt's auth.trakt.tv), or the
        target's own URL, which serves both (Trakt's staging API does)."""
        if self.url:
            return self.url
        settings = getattr(runtime.settings, self.kind)
        return str(getattr(settings, "auth_url", settings.api_url))

    @property
    def own_app(self) -> bool:
        """It needs an API app of its own: an app is registered with one server (Trakt's staging
        API needs a separate one), and the kind's app secret never goes to another host."""
        return self.url is not None

    @property
    def has_now_playing(self) -> bool:
        server = self.server_type
        return server is None or server.now_playing

    @property
    def has_loves(self) -> bool:
        server = self.server_type
        return server is None or server.loves

    def batch_size(self, default: int) -> int:
        server = self.server_type
        return min(default, server.batch_size) if server and server.batch_size else default

    def limiter(self, runtime: Runtime) -> ServiceLimiter:
        """A limiter of its own on the runtime's clock, at its kind's rate in the runtime's
        limits or its server type's."""
        server = self.server_type
        return runtime.limiter(self.name, kind=self.kind, rate=server.rate if server else None)


def from_connection(connection: Connection) -> Target:
    from scrobctl.store.connections import SINGLE_SCROBBLES

    return Target(
        connection.profile,
        connection.name,
        connection.kind,
        connection.url,
        connection.server,
        bool(connection.settings.get(SINGLE_SCROBBLES)),
    )


def resolve(runtime: Runtime, profile: str, name: str) -> Target:
    """The target called `name` in `profile`: its stored connection, or (for a kind's name with
    no connection yet) the default target of that kind."""
    from scrobctl.store import connections

    connection = connections.get_connection(runtime.store(), profile, name)
    if connection is not None:
        return from_connection(connection)
    if name in KINDS:
        return Target(profile, name, name, None, None)
    raise UsageError(
        f"no target named {name!r} in profile {profile}",
        "see `scrobctl status` for the targets, or create it with"
        f" `scrobctl login listenbrainz --name {name} --url URL`",
    )


def kind_of(runtime: Runtime, profile: str, name: str) -> str:
    return resolve(runtime, profile, name).kind
