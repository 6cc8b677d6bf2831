"""Plex webhooks (https://support.plex.tv/articles/115002267687-webhooks/; shared/api-notes
file-formats.md §6): a multipart POST whose `payload` part holds the JSON, sent for every user
of the server, so the source's account filter decides whose plays count.

- `media.play`/`media.resume` show the item as playing now; `media.pause` is not a play.
- `media.scrobble` fires once playback passes 90 %; `media.stop` follows when the player
  stops. Both are stop events here; their start times (now minus the position) fall inside
  the ingest's same-play window, so the pair queues one play.
- `viewOffset` is often missing (CrossWatch probes /status/sessions for it): a scrobble without
  it counts as 90 % played, a stop without it says nothing about progress and is not a play.
- Ids come from `Guid` ([{"id": "imdb://tt…"}, {"id": "tmdb://…"}, {"id": "tvdb://…"}], music
  `mbid://…`); the legacy agents' `guid` (`com.plexapp.agents.imdb://tt…?lang=en`,
  `…thetvdb://<show>/<season>/<episode>`) fills in when `Guid` is absent. Episode `Guid`s are
  the episode's own ids.
"""

from __future__ import annotations

import re
from typing import Any

from scrobctl.serve.common import BadBody, Parsed, Source, as_int, as_text, ignored

SCROBBLE_PERCENT = 90.0  # Plex sends media.scrobble "past the 90% mark"
PLAYBACK = (
    "media.play",
    "media.resume",
    "media.pause",
    "media.stop",
    "media.scrobble",
    "media.rate",
)
KINDS = {"movie": "movie", "episode": "episode", "track": "track"}
_LEGACY = re.compile(r"^com\.plexapp\.agents\.(?P<agent>[a-z]+)://(?P<rest>[^?]*)")


def parse(payload: dict[str, Any], source: Source) -> Parsed:
    event = payload.get("event")
    if not isinstance(event, str):
        raise BadBody("the payload has no 'event'")
    account = payload.get("Account")
    if not isinstance(account, dict):
        account = {}
    if not source.wants(account.get("title"), account.get("id")):
        return ignored(f"a play of another Plex account ({account.get('title') or '?'})")
    if event not in PLAYBACK:
        return ignored(f"not a playback event ({event})")
    metadata = payload.get("Metadata")
    if not isinstance(metadata, dict):
        raise BadBody(f"a {event} payload needs 'Metadata'")
    kind = KINDS.get(str(metadata.get("type")))
    if kind is None:
        return ignored(f"not a movie, episode or track ({metadata.get('type')})")
    base = _item(kind, metadata)
    base["profile"] = source.profile
    if event == "media.rate":
        rating = metadata.get("userRating")
        if isinstance(rating, bool) or not isinstance(rating, int | float) or rating <= 0:
            return ignored("a rating was removed")  # Plex sends no userRating when unrated
        return Parsed([{**base, "rating": max(1.0, float(rating))}])
    duration = as_int(metadata.get("duration"))
    offset = as_int(metadata.get("viewOffset"))
    if event in ("media.play", "media.resume"):
        return Parsed([{**base, "event": "start"}])
    if event == "media.pause":
        return Parsed([{**base, "event": "pause"}])
    progress: dict[str, Any] = {}
    if offset is not None and offset > 0:
        progress["watched_ms"] = offset
    if event == "media.scrobble":
        if duration and offset:
            progress = {"percentage": max(SCROBBLE_PERCENT, min(100.0, offset * 100 / duration))}
        else:
            progress = {"percentage": SCROBBLE_PERCENT}
    if not progress:
        return Parsed([{**base, "event": "pause"}])  # a stop with no position proves nothing
    return Parsed([{**base, "event": "stop", **progress}])


def _item(kind: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The event's item: titles, numbers, length and ids."""
    item: dict[str, Any] = {"type": kind}
    duration = as_int(metadata.get("duration"))
    if duration and duration > 0:
        item["duration_ms"] = duration
    ids, show_ids, numbers = _ids(metadata)
    if kind == "track":
        item["title"] = as_text(metadata.get("title"))
        item["artist"] = as_text(metadata.get("originalTitle")) or as_text(
            metadata.get("grandparentTitle")
        )
        item["album"] = as_text(metadata.get("parentTitle"))
        item["ids"] = {k: v for k, v in ids.items() if k in ("mbid", "isrc")}
        return item
    item["ids"] = {k: v for k, v in ids.items() if k in ("tmdb", "imdb", "tvdb")}
    year = as_int(metadata.get("year"))
    if year:
        item["year"] = year
    item["title"] = as_text(metadata.get("title"))
    if kind == "episode":
        item["show"] = {"title": as_text(metadata.get("grandparentTitle")), "ids": show_ids}
        item["season"] = as_int(metadata.get("parentIndex"))
        item["number"] = as_int(metadata.get("index"))
        if numbers and (item["season"] is None or item["number"] is None):
            item["season"], item["number"] = numbers
    return item


def _ids(metadata: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], tuple[int, int] | None]:
    """(the item's ids, its show's ids, (season, episode) from a legacy TVDB guid)."""
    ids: dict[str, Any] = {}
    guids = metadata.get("Guid")
    if isinstance(guids, list):
        for entry in guids:
            value = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(value, str) and "://" in value:
                scheme, _, rest = value.partition("://")
                _put(ids, scheme, rest)
    show_ids: dict[str, Any] = {}
    numbers = None
    for key, target in (("guid", ids), ("grandparentGuid", show_ids)):
        match = _LEGACY.match(str(metadata.get(key) or ""))
        if not match:
            continue
        agent, rest = match["agent"], match["rest"]
        parts = rest.split("/")
        if agent == "thetvdb" and len(parts) == 3 and key == "guid":
            # com.plexapp.agents.thetvdb://<show>/<season>/<episode>: the show's id
            _put(show_ids, "tvdb", parts[0])
            season, number = as_int(parts[1]), as_int(parts[2])
            if season is not None and number is not None:
                numbers = (season, number)
        elif not any(ids.get(k) for k in ("tmdb", "imdb", "tvdb")) or key == "grandparentGuid":
            _put(target, {"themoviedb": "tmdb", "thetvdb": "tvdb"}.get(agent, agent), parts[0])
    return ids, show_ids, numbers


def _put(ids: dict[str, Any], scheme: str, value: str) -> None:
    value = value.strip()
    if not value:
        return
    if scheme in ("tmdb", "tvdb"):
        number = as_int(value)
        if number and number > 0:
            ids.setdefault(scheme, number)
    elif scheme == "imdb" and value.startswith("tt"):
        ids.setdefault("imdb", value)
    elif scheme == "mbid":
        ids.setdefault("mbid", value)
