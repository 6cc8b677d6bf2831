"""Which services get which media type, per profile.

Default: every connected target whose kind takes the type (video: Trakt, Simkl; tracks: Last.fm,
ListenBrainz; podcasts only where `podcasts = true`). A profile's `routes` setting replaces the
default for the types it names, e.g. in config.toml:

    [profiles.default.routes]
    track = ["listenbrainz"]
"""

from __future__ import annotations

from collections.abc import Iterable

from scrobctl.config import Settings
from scrobctl.kinds import KINDS
from scrobctl.store.connections import Connection

# What each kind takes, as kinds.py declares it.
SERVICE_MEDIA: dict[str, frozenset[str]] = {k.name: k.media for k in KINDS.values()}
PODCAST_OPT_IN = tuple(k.name for k in KINDS.values() if k.podcasts)


def takes(settings: Settings, service: str) -> frozenset[str]:
    """The media types a service takes by default under these settings."""
    media = set(SERVICE_MEDIA.get(service, ()))
    if service in PODCAST_OPT_IN and getattr(settings, service).podcasts:
        media.add("podcast")
    return frozenset(media)


def routes(
    settings: Settings, connections: Iterable[Connection]
) -> dict[str, dict[str, list[str]]]:
    """{profile: {media type: [target names]}} over the enabled connections.

    What a target takes follows its kind (a Maloja of the listenbrainz kind takes tracks). A
    connection that needs a new login still gets plays queued: they wait, untouched, until it
    is back. An explicit route to a target the profile is not connected to is ignored.
    """
    connected: dict[str, dict[str, str]] = {}
    for connection in connections:
        if connection.enabled and connection.kind in SERVICE_MEDIA:
            connected.setdefault(connection.profile, {})[connection.service] = connection.kind
    table: dict[str, dict[str, list[str]]] = {}
    for profile, kinds in connected.items():
        chosen = settings.profiles.get(profile)
        by_type: dict[str, list[str]] = {}
        for kind in ("track", "podcast", "movie", "episode"):
            if chosen is not None and kind in chosen.routes:
                # An explicit route opts a target in to podcasts; it cannot make Trakt take
                # tracks.
                targets = [
                    s
                    for s in chosen.routes[kind]
                    if s in kinds
                    and (
                        kind in SERVICE_MEDIA[kinds[s]]
                        or (kind == "podcast" and kinds[s] in PODCAST_OPT_IN)
                    )
                ]
            else:
                targets = [s for s in sorted(kinds) if kind in takes(settings, kinds[s])]
            if targets:
                by_type[kind] = targets
        table[profile] = by_type
    return table
