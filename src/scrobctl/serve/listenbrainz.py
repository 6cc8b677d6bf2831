"""A ListenBrainz-compatible `POST /1/submit-listens`, checked as the server checks it
(metabrainz/listenbrainz-server @0a119846d, listenbrainz/webserver/views/api.py
`submit_listen` l.57-150 and api_tools.py `validate_listen` l.162-241), so a scrobbler that works
against ListenBrainz gets the same answers here:

- the body: a JSON object with `listen_type` (`single`, `playing_now`, `import`) and a non-empty
  `payload` list; at most 1,000 listens, and the body at most 10,240 bytes a listen
  (MAX_LISTENS_PER_REQUEST, MAX_LISTEN_SIZE); `single`/`playing_now` carry exactly one;
- a listen: `listened_at` (an integer, at least 2002-10-01, not more than an hour ahead) and
  `track_metadata` only (`playing_now`: no `listened_at`); `track_name` and `artist_name` non-empty
  strings, an empty `release_name` dropped; `duration` or `duration_ms`, not both, positive and
  below 24 days; MBIDs valid UUIDs (empty ones dropped); no U+0000 anywhere;
- any invalid listen fails the whole request with 400 `{"code": 400, "error": …}` and nothing is
  stored (the server validates every listen before inserting any).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from scrobctl.scrobble.rules import MAX_FUTURE_SECONDS
from scrobctl.serve.common import BadBody, Parsed, Source, load_json_object

MAX_LISTEN_SIZE = 10_240
MAX_LISTENS_PER_REQUEST = 1000
MAX_PAYLOAD_SIZE = MAX_LISTEN_SIZE * MAX_LISTENS_PER_REQUEST
LISTEN_MINIMUM_TS = 1_033_430_400  # 2002-10-01 00:00:00 UTC (listenstore/__init__.py)
# ListenBrainz allows an hour ahead (API_LISTENED_AT_ALLOWED_SKEW, webserver/__init__.py l.27);
# the ingest refuses more than a minute ahead (rules.MAX_FUTURE_SECONDS), so the stricter bound
# is checked here, where the whole request can still be refused, rather than dropping the listen
# after it was accepted.
ALLOWED_SKEW = MAX_FUTURE_SECONDS
MAX_DURATION = 24 * 24 * 60 * 60  # seconds (api_tools.py MAX_DURATION_LIMIT)
LISTEN_TYPES = ("single", "playing_now", "import")


def parse(raw: bytes, source: Source, now: float | None = None) -> Parsed:
    """Events for the listens in a submit-listens body, or BadBody with the server's message."""
    if len(raw) > MAX_PAYLOAD_SIZE:
        raise BadBody(f"Payload too large. Payload cannot exceed {MAX_PAYLOAD_SIZE} bytes")
    try:
        data = load_json_object(raw, "JSON document")
    except BadBody as exc:
        if "must be a JSON object" in str(exc):
            raise BadBody(
                "Invalid JSON document submitted. Top level of JSON document should be a json"
                " object."
            ) from None
        raise BadBody(f"Cannot parse JSON document: {exc}") from None
    if "payload" not in data:
        raise BadBody("Invalid JSON document submitted.")
    payload = data["payload"]
    if not isinstance(payload, list):
        raise BadBody("The payload in the JSON document should be a list of listens.")
    if not payload:
        raise BadBody("JSON document does not contain any listens")
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise BadBody(
            f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} listens"
            " at once."
        )
    if len(raw) > len(payload) * MAX_LISTEN_SIZE:
        raise BadBody(
            f"JSON document is too large. Each listens may not be larger than {MAX_LISTEN_SIZE}"
            " bytes."
        )
    listen_type = data.get("listen_type")
    if listen_type not in LISTEN_TYPES:
        raise BadBody("JSON document requires a valid listen_type key.")
    if listen_type != "import" and len(payload) > 1:
        raise BadBody(
            "JSON document contains more than listen for a single/playing_now. It should"
            " contain only one."
        )
    clock = time.time() if now is None else now
    events = [_event(listen, listen_type, source, clock) for listen in payload]
    return Parsed(events)


def _event(listen: Any, listen_type: str, source: Source, now: float) -> dict[str, Any]:
    if not isinstance(listen, dict):
        raise BadBody("Listen is empty and cannot be validated.")
    if listen_type == "playing_now":
        if "listened_at" in listen:
            raise BadBody(
                "JSON document must not contain listened_at while submitting playing_now."
            )
        extra = set(listen) - {"track_metadata"}
    else:
        _listened_at(listen, now)
        extra = set(listen) - {"listened_at", "track_metadata"}
    if "track_metadata" not in listen:
        raise BadBody("JSON document must contain the key track_metadata at the top level.")
    if extra:
        allowed = "track_metadata" if listen_type == "playing_now" else "listened_at and"
        raise BadBody(
            f"JSON document may only contain {allowed} track_metadata top level keys"
            if listen_type != "playing_now"
            else "JSON document may only contain track_metadata as top level key when"
            " submitting playing_now."
        )
    meta = listen["track_metadata"]
    if not isinstance(meta, dict):
        raise BadBody("JSON document may not have track_metadata with null value.")
    _no_nul(listen)
    title = _text(meta, "track_name", required=True)
    artist = _text(meta, "artist_name", required=True)
    album = _text(meta, "release_name", required=False)
    info = meta.get("additional_info")
    info = info if isinstance(info, dict) else {}
    if "duration" in info and "duration_ms" in info:
        raise BadBody("JSON document should not contain both duration and duration_ms.")
    duration_ms = None
    if "duration" in info:
        duration_ms = _duration(info["duration"], "duration", MAX_DURATION) * 1000
    if "duration_ms" in info:
        duration_ms = _duration(info["duration_ms"], "duration_ms", MAX_DURATION * 1000)
    for key in ("release_mbid", "recording_mbid", "release_group_mbid", "track_mbid"):
        value = info.get(key)
        if value and not _is_uuid(value):
            raise BadBody(f"{key} MBID format invalid.")
    for key in ("artist_mbids", "work_mbids"):
        values = info.get(key)
        if values and (not isinstance(values, list) or not all(_is_uuid(v) for v in values if v)):
            raise BadBody(f"{key} MBID format invalid.")
    event: dict[str, Any] = {
        "type": "track",
        "profile": source.profile,
        "title": title,
        "artist": artist,
        "event": "start" if listen_type == "playing_now" else "stop",
    }
    if album:
        event["album"] = album
    if duration_ms:
        event["duration_ms"] = duration_ms
    ids = {}
    if info.get("recording_mbid"):
        ids["mbid"] = str(info["recording_mbid"]).lower()
    isrc = info.get("isrc")
    if isinstance(isrc, str) and isrc.strip():
        ids["isrc"] = isrc.strip()
    event["ids"] = ids
    if listen_type != "playing_now":
        event["watched_at"] = listen["listened_at"]
    return event


def _listened_at(listen: dict[str, Any], now: float) -> None:
    if "listened_at" not in listen:
        raise BadBody("JSON document must contain the key listened_at at the top level.")
    value = listen["listened_at"]
    try:
        if value is None or isinstance(value, bool | dict | list):
            raise TypeError
        listen["listened_at"] = int(value)
    except (ValueError, TypeError, OverflowError):
        raise BadBody("JSON document must contain an int value for listened_at.") from None
    if listen["listened_at"] > int(now) + ALLOWED_SKEW:
        raise BadBody("Value for key listened_at is too high.")
    if listen["listened_at"] < LISTEN_MINIMUM_TS:
        raise BadBody(
            "Value for key listened_at is too low. listened_at timestamp should be greater than"
            " 1033410600 (2002-10-01 00:00:00 UTC)."
        )


def _text(meta: dict[str, Any], key: str, *, required: bool) -> str | None:
    if key not in meta:
        if required:
            raise BadBody(f"JSON document does not contain required field track_metadata.{key}.")
        return None
    value = meta[key]
    if not isinstance(value, str):
        raise BadBody(f"track_metadata.{key} must be a single string.")
    value = value.strip()
    if not value and required:
        raise BadBody(f"field track_metadata.{key} is empty.")
    return value or None  # an empty release_name is dropped, not refused


def _duration(value: Any, key: str, limit: int) -> int:
    """Positive whole units; numeric strings pass, as the server's int(float(x)) lets them."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = int(float(value))
    except (ValueError, TypeError, OverflowError):
        raise BadBody(f"Value for {key} is invalid, should be a positive integer.") from None
    if number <= 0:
        raise BadBody(f"Value for {key} is invalid, should be a positive integer.")
    if number > limit:
        raise BadBody(f"Value for {key} is too large, max permitted value is {limit}")
    return number


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (AttributeError, ValueError, TypeError):
        return False
    return True


def _no_nul(value: Any) -> None:
    """The real U+0000 is refused (api_tools.py check_for_unicode_null_recursively)."""
    if isinstance(value, dict):
        for v in value.values():
            _no_nul(v)
    elif isinstance(value, list):
        for v in value:
            _no_nul(v)
    elif isinstance(value, str) and "\x00" in value:
        raise BadBody(f"{value!r} contains a unicode null")


def listen_rule(event: Any) -> str | None:
    """A submitted listen was judged by its sender ("half the track or 4 minutes",
    api.py submit_listen's docstring); only a known length under the 30 s minimum is refused."""
    if event.duration_ms is not None and event.duration_ms < 30_000:
        return "shorter than 30 s"
    return None
