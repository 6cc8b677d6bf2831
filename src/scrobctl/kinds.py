"""The service kinds, each declared once (issue 18): what it can take, what its stored secret
holds, and where its client, senders, history reader and account check live.

Everything else looks a kind up here by name instead of branching on it, so adding a kind (or a
compatible server type) is one entry. The parts are import strings, loaded on first use: this
module is read at start-up and must not import httpx or any client (tests/test_cli.py).

Each `module:function` part takes one `Link` (the target with its secret, after the one
credentials check, and the client its kind's `connect` built from them) and returns the part.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from scrobctl.http import ServiceLimiter
    from scrobctl.runtime import Runtime
    from scrobctl.targets import Target


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    secret_key: str  # what its stored secret must hold for the login to be there
    media: frozenset[str]  # the media types it takes
    # async (link) -> client, from the link's target and secret: the one place it is built
    connect: str
    account: str  # async (link) -> the account name, for `status --check`
    sender: str  # (link) -> Sender
    rating_sender: str  # (link) -> RatingSender
    reader: str  # (link) -> Reader, for `import`
    rating_export: str  # (runtime, kind) -> how an archived rating becomes one it takes
    login: str  # its login flow (accounts/<kind>.py)
    login_with: str = "browser"  # what the person gives: "browser" (a code or page), "token"
    podcasts: bool = False  # takes podcasts where its settings say `podcasts = true`
    app_fields: tuple[tuple[str, str, bool], ...] = ()  # its API app: (name, label, secret)
    rates: frozenset[str] = frozenset()  # the item types it takes a 1-10 rating of
    removal_sender: str | None = None  # (link) -> RemovalSender; None: no API removes a play
    revoke: str | None = None  # async (runtime, profile, secret): on logout
    password_login: str | None = None  # the flow for compatible servers with no browser login
    public_history: bool = False  # its history is read without the user's secret
    # Seconds into the past its own service still takes a play (None: any age). A compatible
    # server of the kind (Maloja, Libre.fm) has no such rule.
    max_age: int | None = None
    # How a queued rating reads in a dry run, as the kind takes it (`value` is the 1-10 one).
    shown_rating: str = "{value:g}/10"


@dataclass(frozen=True)
class ServerType:
    """What a server that is not the kind's own service can take."""

    label: str
    batch_size: int | None  # the most plays a request may carry; None: the kind's own
    history: str | None  # the history endpoint it lacks (None: it has it)
    loves: bool
    now_playing: bool
    # Requests per period. A self-hosted server has no documented limit; this keeps a flush
    # of thousands of single-play requests from hammering a small machine.
    rate: tuple[float, float] | None = None
    removals: bool = True  # it deletes a play the way its kind does
    account_checks: frozenset[str] = frozenset()  # kinds whose account check it answers


_SENDERS = "scrobctl.scrobble.senders"
_EXPORT = "scrobctl.sync.export"
# What the video kinds have alike, and the music kinds (DESIGN.md's table of the four services).
_VIDEO: dict[str, Any] = {
    "secret_key": "access_token",
    "media": frozenset({"movie", "episode"}),
    "rating_export": f"{_EXPORT}:video",
}
_MUSIC: dict[str, Any] = {"media": frozenset({"track"}), "podcasts": True}


def _declare(name: str, **facts: Any) -> Kind:
    """A kind whose modules sit where every kind's do: `accounts/<name>.py` (connect, check,
    login_<name>), `scrobble/senders/<name>.py` (sender) and `sync/readers/<name>.py`
    (reader). A part given in `facts` overrides the convention."""
    accounts = f"scrobctl.accounts.{name}"
    parts = {
        "connect": f"{accounts}:connect",
        "account": f"{accounts}:check",
        "login": f"{accounts}:login_{name}",
        "sender": f"{_SENDERS}.{name}:sender",
        "reader": f"scrobctl.sync.readers.{name}:reader",
    }
    return Kind(name=name, **{**parts, **facts})


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        _declare(
            "trakt",
            label="Trakt",
            **_VIDEO,
            app_fields=(
                ("client_id", "Client ID", False),
                ("client_secret", "Client secret", True),
            ),
            rating_sender=f"{_SENDERS}.ratings:trakt_ratings",
            removal_sender=f"{_SENDERS}.removals:trakt_removals",
            # All four (trakt/trakt-api contracts/sync/schema/request/ratingsParamSchema.ts).
            rates=frozenset({"movie", "show", "season", "episode"}),
            revoke="scrobctl.accounts.trakt:revoke_secret",
        ),
        _declare(
            "simkl",
            label="Simkl",
            **_VIDEO,
            app_fields=(("client_id", "Client ID", False),),
            rating_sender=f"{_SENDERS}.ratings:simkl_ratings",
            removal_sender=f"{_SENDERS}.removals:simkl_removals",
            rates=frozenset({"movie", "show"}),
        ),
        _declare(
            "lastfm",
            label="Last.fm",
            secret_key="session_key",
            **_MUSIC,
            app_fields=(("api_key", "API key", False), ("api_secret", "Shared secret", True)),
            rating_sender=f"{_SENDERS}.ratings:lastfm_loves",
            rating_export=f"{_EXPORT}:loves",
            shown_rating="love",
            password_login="scrobctl.accounts.lastfm:login_lastfm_password",
            public_history=True,  # user.getRecentTracks needs only the API key
            max_age=14 * 86400,  # older scrobbles are silently ignored (api-notes A.4)
        ),
        _declare(
            "listenbrainz",
            label="ListenBrainz",
            secret_key="token",
            **_MUSIC,
            rating_sender=f"{_SENDERS}.ratings:listenbrainz_feedback",
            removal_sender=f"{_SENDERS}.removals:listenbrainz_removals",
            rating_export=f"{_EXPORT}:feedback",
            shown_rating="feedback {value:+g}",
            login_with="token",  # a user token pasted in, checked before it is stored
        ),
    )
}

MALOJA = "maloja"
SERVERS: dict[str, ServerType] = {
    # Maloja 3.2.3 (krateng/maloja): the ListenBrainz API has only submit-listens and
    # validate-token (maloja/apis/listenbrainz.py l.20-23), audioscrobbler only
    # auth.getMobileSession and track.scrobble (maloja/apis/audioscrobbler.py l.19-22). A batch
    # stops at its first duplicate and still answers ok (listenbrainz.py l.57-87 with
    # database/sqldb.py l.358-364), so it gets one play a request.
    MALOJA: ServerType(
        label="Maloja",
        batch_size=1,
        history="the history API (GET /1/user/{name}/listens, user.getRecentTracks)",
        loves=False,
        now_playing=False,
        rate=(20, 1),
        removals=False,  # no delete-listen (listenbrainz.py l.20-23)
        account_checks=frozenset({"listenbrainz"}),  # validate-token; no user.getInfo
    ),
}


def kind(name: str) -> Kind:
    """The kind called `name`; a kind nobody declared is a usage error, never a fallback."""
    found = KINDS.get(name)
    if found is None:
        from scrobctl.errors import UsageError

        raise UsageError(f"unknown kind {name!r}", f"the kinds are {', '.join(KINDS)}")
    return found


def load(ref: str) -> Any:
    """The object an import string (`module:attribute`) names, imported now."""
    module, _, attribute = ref.partition(":")
    return getattr(import_module(module), attribute)


@dataclass
class Link:
    """A target with its client: what every sender, reader and account check is built from."""

    runtime: Runtime
    target: Target
    http: httpx.AsyncClient
    limiter: ServiceLimiter
    secret: dict[str, Any]
    client: Any = None

    @property
    def kind(self) -> Kind:
        return KINDS[self.target.kind]

    def account(self) -> str:
        """The account name the target was logged in with ("" when none is recorded)."""
        from scrobctl.store import connections

        store = self.runtime.store()
        connection = connections.get_connection(store, self.target.profile, self.target.name)
        return (connection.account or "") if connection else ""


def removable(target: Target) -> bool:
    """Whether a play can be removed from the target by API: its kind has a way, and its
    server (a Maloja has no delete-listen) has it too."""
    server = target.server_type
    return KINDS[target.kind].removal_sender is not None and (server is None or server.removals)


def credentials(runtime: Runtime, target: Target, *, required: bool = True) -> dict[str, Any]:
    """The target's stored secret, which must hold its kind's key; else TokenMissing (the one
    "no token stored" check). Not `required`: whatever is stored, perhaps nothing."""
    if not required:
        return runtime.tokens().get(target.profile, target.name) or {}
    return runtime.secret(target.profile, target.name, kind(target.kind).secret_key, target.kind)


async def link(
    runtime: Runtime,
    target: Target,
    http: httpx.AsyncClient,
    limiter: ServiceLimiter | None = None,
    *,
    required: bool = True,
) -> Link:
    """The target's client with fresh credentials (a Trakt token is refreshed here when due)."""
    spec = kind(target.kind)
    limiter = limiter or target.limiter(runtime)
    connected = Link(
        runtime, target, http, limiter, credentials(runtime, target, required=required)
    )
    connected.client = await load(spec.connect)(connected)
    return connected


async def build(
    role: str,
    runtime: Runtime,
    name: str,
    profile: str,
    http: httpx.AsyncClient,
    limiter: ServiceLimiter | None = None,
) -> Any:
    """The `role` part (sender, rating_sender, removal_sender, reader) for the target called
    `name`, chosen by the target's kind, not its name."""
    from scrobctl.targets import resolve

    target = resolve(runtime, profile, name)
    spec = kind(target.kind)
    ref = getattr(spec, role)
    if ref is None or (role == "removal_sender" and not removable(target)):
        raise ValueError(f"{name} has no {role.replace('_', ' ')}")
    required = role != "reader" or not spec.public_history
    return load(ref)(await link(runtime, target, http, limiter, required=required))


async def account(runtime: Runtime, target: Target) -> str:
    """Who the target's stored credentials belong to, asked through its kind's account check
    (`status --check`); a server type that cannot answer it says so."""
    server = target.server_type
    if server is not None and target.kind not in server.account_checks:
        from scrobctl.errors import ScrobctlError

        # Maloja's audioscrobbler API has no user.getInfo (apis/audioscrobbler.py l.19-22).
        raise ScrobctlError(f"{target.label} cannot check a session without sending a play")
    async with runtime.http_client() as http:
        connected = await link(runtime, target, http)
        return await load(kind(target.kind).account)(connected)
