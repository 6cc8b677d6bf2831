"""Which services take which media type."""

from __future__ import annotations

from collections.abc import Iterable

from scrobctl.config import Settings
from scrobctl.store.connections import Connection

# What each service records (DESIGN.md's service table). Podcasts are opt-in per service.
SERVICE_MEDIA: dict[str, frozenset[str]] = {
    "listenbrainz": frozenset({"track"}),
}
PODCAST_OPT_IN = ("listenbrainz",)


def routes(
    settings: Settings, connections: Iterable[Connection]
) -> dict[str, dict[str, list[str]]]:
    """{profile: {media type: [services]}} for every enabled connection.

    A connection that needs a new login still gets plays queued: they wait, untouched, until it is
    back.
    """
    table: dict[str, dict[str, list[str]]] = {}
    for connection in connections:
        if not connection.enabled or connection.service not in SERVICE_MEDIA:
            continue
        media = set(SERVICE_MEDIA[connection.service])
        if connection.service in PODCAST_OPT_IN and getattr(settings, connection.service).podcasts:
            media.add("podcast")
        by_type = table.setdefault(connection.profile, {})
        for kind in sorted(media):
            by_type.setdefault(kind, []).append(connection.service)
    return table
