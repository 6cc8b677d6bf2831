"""A Last.fm-compatible 2.0 web service endpoint for other scrobblers: `auth.getMobileSession`,
`track.scrobble` (the indexed batch form `artist[0]`… and the single form) and
`track.updateNowPlaying`, answered in Last.fm's XML (or JSON with `format=json`).

Sources: the 2.0 web service docs (https://www.last.fm/api/show/track.scrobble,
/auth.getMobileSession, /track.updateNowPlaying, /api/errorcodes), ListenBrainz's own
compatible implementation
(metabrainz/listenbrainz-server @0a119846d, listenbrainz/webserver/views/api_compat.py
`record_listens` l.225-289 and `create_response_for_single_listen` l.292-342 for the answer
shape), and pylast's parser (`_check_response_for_errors`: `<lfm status>` then `<error code>`).

Authentication: the serve token is the password of `auth.getMobileSession`, and the session key
it answers is that same token, so a session survives restarts (Maloja keeps its sessions in
memory and forgets them, error 9). `api_key` and `api_sig` are the client's own app
credentials; they are not checked, since the token is what identifies the source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from scrobctl.serve.common import Parsed, Source, as_int, as_text

MAX_SCROBBLES = 50  # track.scrobble: "up to a maximum of 50 scrobbles per batch"
_INDEXED = re.compile(r"^(?P<key>[A-Za-z]+)\[(?P<index>\d{1,2})\]$")

# https://www.last.fm/api/errorcodes
INVALID_METHOD = (3, "Invalid Method - No method with that name in this package")
AUTH_FAILED = (4, "Authentication Failed - You do not have permissions to access the service")
INVALID_PARAMETERS = (6, "Invalid parameters - Your request is missing a required parameter")
INVALID_SESSION = (9, "Invalid session key - Please re-authenticate")


class LastfmError(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def method_of(params: Mapping[str, str]) -> str:
    return (params.get("method") or "").strip().lower()


def parse_scrobbles(params: Mapping[str, str], source: Source) -> Parsed:
    """Stop events for each scrobble of a track.scrobble, in index order."""
    entries = _indexed(params)
    if not entries:
        raise LastfmError(*_missing("artist, track and timestamp"))
    if len(entries) > MAX_SCROBBLES:
        raise LastfmError(6, f"Invalid parameters - at most {MAX_SCROBBLES} scrobbles a request")
    events = []
    for index in sorted(entries):
        entry = entries[index]
        event = _track(entry, source)
        timestamp = as_int(entry.get("timestamp"))
        if timestamp is None or timestamp <= 0:
            raise LastfmError(*_missing(f"timestamp[{index}]"))
        event["watched_at"] = timestamp
        events.append(event)
    return Parsed(events)


def parse_now_playing(params: Mapping[str, str], source: Source) -> Parsed:
    entries = _indexed(params)
    if len(entries) != 1:
        raise LastfmError(*INVALID_PARAMETERS)
    [entry] = entries.values()
    return Parsed([{**_track(entry, source), "event": "start"}])


def _missing(what: str) -> tuple[int, str]:
    return 6, f"Invalid parameters - Your request is missing a required parameter ({what})"


def _indexed(params: Mapping[str, str]) -> dict[int, dict[str, str]]:
    """{index: {field: value}}: `artist[3]` goes to 3, a plain `artist` to 0 (api_compat.py)."""
    entries: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        if key in ("method", "sk", "api_key", "api_sig", "format", "token"):
            continue
        match = _INDEXED.match(key)
        index, name = (int(match["index"]), match["key"]) if match else (0, key)
        entries.setdefault(index, {})[name] = value
    return {i: e for i, e in entries.items() if "artist" in e or "track" in e}


def _track(entry: Mapping[str, str], source: Source) -> dict[str, Any]:
    artist, track = as_text(entry.get("artist")), as_text(entry.get("track"))
    if artist is None or track is None:
        raise LastfmError(*_missing("artist and track"))
    if any("\x00" in v for v in entry.values()):
        raise LastfmError(6, "Invalid parameters - a value contains a unicode null")
    event: dict[str, Any] = {
        "type": "track",
        "profile": source.profile,
        "title": track,
        "artist": artist,
        "event": "stop",
    }
    album = as_text(entry.get("album"))
    if album:
        event["album"] = album
    seconds = as_int(entry.get("duration"))
    if seconds is not None and seconds > 0:
        event["duration_ms"] = seconds * 1000
    mbid = as_text(entry.get("mbid"))
    if mbid:
        event["ids"] = {"mbid": mbid.lower()}
    return event


def _field(name: str, value: Any, json_form: bool) -> Any:
    text = "" if value is None else str(value)
    if json_form:
        return {"corrected": "0", "#text": text}
    return f'<{name} corrected="0">{escape(text)}</{name}>'


TRACK_IGNORED = (2, "Track was ignored")
TIMESTAMP_TOO_NEW = (4, "Timestamp was too new")  # ignoredMessage codes, track.scrobble docs


def scrobbles_answer(
    events: list[dict[str, Any]], ignored: dict[int, tuple[int, str]], json_form: bool
) -> str:
    """track.scrobble's answer: accepted/ignored counts and each scrobble echoed back;
    `ignored` maps a position to its ignoredMessage (code, text)."""
    items = []
    for position, event in enumerate(events):
        number, message = ignored.get(position, (0, ""))
        code = str(number)
        if json_form:
            items.append(
                {
                    "track": _field("track", event["title"], True),
                    "artist": _field("artist", event["artist"], True),
                    "album": _field("album", event.get("album"), True),
                    "albumArtist": _field("albumArtist", event["artist"], True),
                    "timestamp": str(event["watched_at"]),
                    "ignoredMessage": {"code": code, "#text": message},
                }
            )
        else:
            items.append(
                "<scrobble>"
                + _field("track", event["title"], False)
                + _field("artist", event["artist"], False)
                + _field("album", event.get("album"), False)
                + _field("albumArtist", event["artist"], False)
                + f"<timestamp>{event['watched_at']}</timestamp>"
                + f'<ignoredMessage code="{code}">{escape(message)}</ignoredMessage>'
                + "</scrobble>"
            )
    accepted, rejected = len(events) - len(ignored), len(ignored)
    if json_form:
        body = items[0] if len(items) == 1 else items
        return json.dumps(
            {
                "scrobbles": {
                    "scrobble": body,
                    "@attr": {"accepted": accepted, "ignored": rejected},
                }
            }
        )
    return _lfm(
        f'<scrobbles accepted="{accepted}" ignored="{rejected}">{"".join(items)}</scrobbles>'
    )


def now_playing_answer(event: dict[str, Any], json_form: bool) -> str:
    if json_form:
        return json.dumps(
            {
                "nowplaying": {
                    "track": _field("track", event["title"], True),
                    "artist": _field("artist", event["artist"], True),
                    "album": _field("album", event.get("album"), True),
                    "albumArtist": _field("albumArtist", event["artist"], True),
                    "ignoredMessage": {"code": "0", "#text": ""},
                }
            }
        )
    return _lfm(
        "<nowplaying>"
        + _field("track", event["title"], False)
        + _field("artist", event["artist"], False)
        + _field("album", event.get("album"), False)
        + _field("albumArtist", event["artist"], False)
        + '<ignoredMessage code="0"></ignoredMessage>'
        + "</nowplaying>"
    )


def session_answer(name: str, key: str, json_form: bool) -> str:
    if json_form:
        return json.dumps({"session": {"name": name, "key": key, "subscriber": 0}})
    return _lfm(
        f"<session><name>{escape(name)}</name><key>{escape(key)}</key>"
        "<subscriber>0</subscriber></session>"
    )


def error_answer(error: LastfmError, json_form: bool) -> str:
    if json_form:
        return json.dumps({"error": error.code, "message": error.message})
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<lfm status="failed">'
        f"<error code={quoteattr(str(error.code))}>{escape(error.message)}</error></lfm>"
    )


def _lfm(inner: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?>\n<lfm status="ok">{inner}</lfm>'
