"""Jellyfin's webhook plugin (jellyfin/jellyfin-plugin-webhook @616010c; shared/api-notes
file-formats.md §6): the body is whatever the user's Handlebars template renders, or with
"Send All Properties" the whole data object as JSON, usually sent as `text/plain`.

Field names are those of `Helpers/DataObjectHelpers.cs` either way. A template renders values
as text, so booleans arrive as "True"/"False", numbers (ticks, season and episode numbers such
as "01") as strings. `ItemType` is the C# class name (`Movie`, `Episode`, `Audio`); ids are the
item's own `Provider_<key>` (episode ids for an episode; the series' are not sent).
`PlayedToCompletion` comes only with `PlaybackStop`. One webhook is sent per user, so the
source's account filter is matched against `NotificationUsername` and `UserId`.

Handlebars escapes HTML in `{{Name}}` (`&` becomes `&amp;`), so text from a template is
unescaped; "Send All Properties" sends it as it is, and unescaping that changes nothing but a
literal entity in a title.
"""

from __future__ import annotations

import html
from typing import Any

from scrobctl.serve import dotnet
from scrobctl.serve.common import BadBody, Parsed, Source, as_text, ignored


def parse(data: dict[str, Any], source: Source) -> Parsed:
    notification = as_text(data.get("NotificationType"))
    if notification is None:
        raise BadBody("the body has no 'NotificationType' (see the template in the README)")
    if not source.wants(data.get("NotificationUsername"), data.get("UserId")):
        return ignored(f"a play of another Jellyfin user ({data.get('NotificationUsername')})")
    if notification not in ("PlaybackStart", "PlaybackProgress", "PlaybackStop"):
        return ignored(f"not a playback notification ({notification})")
    kind = dotnet.KINDS.get(str(data.get("ItemType")))
    if kind is None:
        return ignored(f"not a movie, episode or song ({data.get('ItemType')})")
    base = {"profile": source.profile, **item(kind, data)}
    if notification == "PlaybackStart":
        return Parsed([{**base, "event": "start"}])
    if notification == "PlaybackProgress":
        return Parsed([{**base, "event": "pause"}])
    return dotnet.stop(base, data.get("PlayedToCompletion"), data.get("PlaybackPositionTicks"))


def _text(value: Any) -> str | None:
    text = as_text(value)
    return html.unescape(text) if text is not None else None


def item(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"type": kind, "title": _text(data.get("Name"))}
    duration = dotnet.ticks_to_ms(data.get("RunTimeTicks"))
    if duration:
        fields["duration_ms"] = duration
    providers = {
        key[len("Provider_") :].lower(): value
        for key, value in data.items()
        if key.startswith("Provider_") and as_text(value)
    }
    if kind == "track":
        fields["artist"] = _text(data.get("Artist"))
        fields["album"] = _text(data.get("Album"))
        # The recording id; MusicBrainzTrack is the release track's, not the recording's.
        mbid = as_text(providers.get("musicbrainzrecording"))
        fields["ids"] = {"mbid": mbid} if mbid else {}
        return fields
    video = dotnet.video(
        kind,
        providers,
        data.get("Year"),
        _text(data.get("SeriesName")),
        data.get("SeasonNumber"),
        data.get("EpisodeNumber"),
    )
    return {**fields, **video}
