"""Emby's native webhooks (shared/api-notes file-formats.md §6, from a real 4.9.5 payload and
CrossWatch `providers/webhooks/emby.py`): JSON with `Event` (`playback.start`, `.pause`,
`.unpause`, `.stop`, ...), `User{Name,Id}`, `Item{Name,Type,RunTimeTicks,ProviderIds,...}` and
`PlaybackInfo{PlayedToCompletion,PositionTicks}`. The position is only in
`PlaybackInfo.PositionTicks` (often past 32 bits); `ProviderIds` can be empty and holds the
episode's own ids. Emby can also post it as a multipart form whose `data` part is the JSON.
"""

from __future__ import annotations

from typing import Any

from scrobctl.serve import dotnet
from scrobctl.serve.common import BadBody, Parsed, Source, as_text, ignored

TESTS = ("system.webhooktest", "system.notificationtest")


def parse(data: dict[str, Any], source: Source) -> Parsed:
    event = as_text(data.get("Event"))
    if event is None:
        raise BadBody("the body has no 'Event'")
    if event in TESTS:
        return ignored("a test notification: the webhook works")
    user = data.get("User") if isinstance(data.get("User"), dict) else {}
    if not source.wants(user.get("Name"), user.get("Id")):
        return ignored(f"a play of another Emby user ({user.get('Name')})")
    if event not in ("playback.start", "playback.unpause", "playback.pause", "playback.stop"):
        return ignored(f"not a playback event ({event})")
    item = data.get("Item")
    if not isinstance(item, dict):
        raise BadBody(f"a {event} body needs 'Item'")
    kind = dotnet.KINDS.get(str(item.get("Type")))
    if kind is None:
        return ignored(f"not a movie, episode or song ({item.get('Type')})")
    base = {"profile": source.profile, **_item(kind, item)}
    if event in ("playback.start", "playback.unpause"):
        return Parsed([{**base, "event": "start"}])
    if event == "playback.pause":
        return Parsed([{**base, "event": "pause"}])
    info = data.get("PlaybackInfo") if isinstance(data.get("PlaybackInfo"), dict) else {}
    return dotnet.stop(base, info.get("PlayedToCompletion"), info.get("PositionTicks"))


def _item(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"type": kind, "title": as_text(item.get("Name"))}
    duration = dotnet.ticks_to_ms(item.get("RunTimeTicks"))
    if duration:
        fields["duration_ms"] = duration
    raw = item.get("ProviderIds") if isinstance(item.get("ProviderIds"), dict) else {}
    providers = {str(k).lower(): v for k, v in raw.items()}
    if kind == "track":
        artists = item.get("Artists")
        first = artists[0] if isinstance(artists, list) and artists else None
        fields["artist"] = as_text(first) or as_text(item.get("AlbumArtist"))
        fields["album"] = as_text(item.get("Album"))
        # No recording MBID: which of Emby's MusicBrainz keys holds it is not documented, and
        # a wrong one would merge different recordings; the artist + title match is used.
        fields["ids"] = {}
        return fields
    video = dotnet.video(
        kind,
        providers,
        item.get("ProductionYear"),
        as_text(item.get("SeriesName")),
        item.get("ParentIndexNumber"),
        item.get("IndexNumber"),
    )
    return {**fields, **video}
