"""Maloja's own API (`/apis/mlj_1`, krateng/maloja 3.2.3 `maloja/apis/native_v1.py`): telling a
Maloja apart from the service its compatible APIs imitate, and reading what it stored.

Maloja keys scrobbles by the second (`database/sqldb.py` l.380-395: an IntegrityError on the
timestamp is "exists" when the track matches, else an error). A second play at the same second
then fails its whole request: 500 "Unspecified server error." on the ListenBrainz API
(`apis/listenbrainz.py` l.24-31, where DuplicateTimestamp is caught as Exception) and error 8
"Operation failed" on audioscrobbler (`apis/audioscrobbler.py` l.23-29), which is also how a plain
resend of a stored scrobble is answered there. The answer alone cannot say which happened, so the
sender asks Maloja what it holds at that second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from scrobctl.errors import ServiceUnavailable
from scrobctl.http import ServiceLimiter, json_body, transmit

SERVERINFO = "/apis/mlj_1/serverinfo"
SCROBBLES = "/apis/mlj_1/scrobbles"


@dataclass(frozen=True)
class ServerInfo:
    name: str
    version: str


@dataclass(frozen=True)
class Stored:
    """A scrobble Maloja holds: its artists and title."""

    artists: tuple[str, ...]
    title: str

    def describe(self) -> str:
        return f"{', '.join(self.artists)} - {self.title}"


def root(api_url: str) -> str:
    """The Maloja root for one of its APIs' URLs: everything before `/apis/`, so that
    `http://host:42010/apis/listenbrainz` and `.../apis/audioscrobbler/2.0/` both lead home."""
    parts = urlsplit(api_url)
    path = parts.path
    cut = path.find("/apis/")
    base = path[:cut] if cut >= 0 else ""
    return urlunsplit((parts.scheme, parts.netloc, base.rstrip("/"), "", ""))


async def server_info(
    http: httpx.AsyncClient, limiter: ServiceLimiter, api_url: str
) -> ServerInfo | None:
    """Maloja's self-description (`{"name", "version": [...], "versionstring", "db_status"}`,
    native_v1.py l.260-277), or None when the server is not a Maloja (any other answer)."""
    request = http.build_request("GET", root(api_url) + SERVERINFO)
    try:
        response = await transmit(http, limiter, request)
    except ServiceUnavailable:
        return None
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        return None
    version = body.get("versionstring")
    if not isinstance(version, str) or not isinstance(body.get("version"), list):
        return None
    if not isinstance(body.get("db_status"), dict):
        return None
    return ServerInfo(str(body.get("name") or ""), version)


def _day(ts: int) -> str:
    when = datetime.fromtimestamp(ts, UTC)
    return f"{when.year}/{when.month}/{when.day}"


async def stored_at(
    http: httpx.AsyncClient, limiter: ServiceLimiter, api_url: str, timestamp: int
) -> Stored | None:
    """What Maloja holds at this second, if anything. The native API filters by whole days in
    Maloja's own time zone, so the days either side are asked for too."""
    params = {"from": _day(timestamp - 86400), "to": _day(timestamp + 86400)}
    request = http.build_request("GET", root(api_url) + SCROBBLES, params=params)
    response = await transmit(http, limiter, request)
    body = json_body(response)
    entries = body.get("list") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(entries, list):
        raise ServiceUnavailable(
            limiter.name, f"{SCROBBLES} gave an unexpected answer", "it will be retried later"
        )
    for entry in entries:
        if isinstance(entry, dict) and entry.get("time") == timestamp:
            track: Any = entry.get("track") or {}
            artists = tuple(str(a) for a in track.get("artists") or ())
            return Stored(artists, str(track.get("title") or ""))
    return None


def same_track(stored: Stored, artist: str, title: str) -> bool:
    """Maloja cleans names (it may split "A feat. B" into two artists), so compare loosely."""
    ours = artist.strip().casefold()
    names = [a.casefold() for a in stored.artists]
    return stored.title.casefold() == title.strip().casefold() and (
        not names or any(name in ours for name in names)
    )
