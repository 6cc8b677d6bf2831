"""A Last.fm API 2.0 fake: one root endpoint, signature checks and the desktop auth flow
(api-notes A.1-A.3, A.8).

- The root is `/2.0/`. Parameters come from the query (GET) or the form body (POST,
  `application/x-www-form-urlencoded`, all parameters in the body). Only `format=json` is spoken.
- Checks run in Last.fm's order: method known (else error 3), `api_key` known (else 10), then
  the signature. `api_sig` is verified whenever it is sent, and it is required for `auth.*` and
  for any call that carries `sk`: md5 over the parameters sorted by name, except `format`,
  `callback` and `api_sig`, each as name + value (raw, not URL-encoded), with the shared secret
  appended, UTF-8 encoded. A wrong or missing one is error 13 with HTTP 403.
- `auth.getToken` → `{"token": <32 hex>}`, unauthorised, for that api_key only, valid 60 minutes.
- `auth.getSession` → error 14 (HTTP 403) until `approve()` is called, or automatically once
  `auto_approve_after` polls have been answered with 14; then `{"session": {"name", "key",
  "subscriber": 0}}`, and the token is consumed: asking again is error 4. An expired token is 15.
- `user.getInfo` with a valid `sk` → `{"user": {"name", ...}}` (numbers as strings); an unknown
  `sk` is error 9.
- `track.scrobble` (A.4; POST only, signed, valid `sk`): indexed parameters `artist[i]`,
  `track[i]`, `timestamp[i]` (required) and `album[i]`, `albumArtist[i]`, `duration[i]`,
  `mbid[i]`, ... for `0 <= i <= 49` (the `[0]` may be left off for a single scrobble); more than
  50, a gap in the indices or a missing required value is error 6. The answer is HTTP 200 even
  when plays are ignored: `{"scrobbles": {"@attr": {"accepted": "n", "ignored": "m"},
  "scrobble": [...]}}`, one entry per play in request order, each with `ignoredMessage`
  `{"code": "0".."5", "#text": ...}`, and a bare object instead of a list for one play. Ignored:
  artists in `ignored_artists` (code 1), timestamps more than 14 days old (code 3) or more than
  `FUTURE_SLACK` s ahead (code 4), and plays past `daily_limit` (code 5). Accepted plays are
  stored in `scrobbles`, de-duplicated on (user, artist, track, timestamp) as Last.fm does (a
  resend is answered "accepted" and stored once); `accepted` keeps every accepted play.
- `track.updateNowPlaying` (A.5; POST, signed, `sk`): `artist` and `track` required →
  `{"nowplaying": {..., "ignoredMessage": {...}}}`; the latest one per user is in `now_playing`.

- `user.getRecentTracks` (A.6; GET or POST, no signature needed) serves a synthetic history of
  `history_size` scrobbles made on the fly (a large one costs no memory): scrobble i is at
  `history_start + i * history_step`, see `history_track`. Newest first, `limit` (default 50, at
  most 200: more is recorded in `problems` and clamped) a page, `page` 1-based, only scrobbles
  after `from` and before `to` (both exclusive, as the docs word it; the real boundaries are
  unconfirmed). `@attr` holds `user`, `page`, `perPage`, `totalPages` and `total`, all strings.
  While `now_playing` holds the user (a `track.updateNowPlaying`, or set by a test), page 1 is led
  by that track with `"@attr": {"nowplaying": "true"}` and no `date`, beyond `limit` and `total`.
  Plays sent with `track.scrobble` are not served back. An unknown `user` is error 6 (HTTP 404).
- `user.getLovedTracks` (A.7) serves `loved` (see `love()`), newest first, `limit` (default 50)
  a page. Both answer a one-track page with a bare object instead of a list, as Last.fm does.
- `track.love` (signed POST with `sk`) adds the track to `loved` once and answers `{}`.
- A method in `unsupported` is answered as a compatible server answers one it lacks: HTTP 200
  `{"error": 3, "message": "Invalid method"}` (krateng/maloja maloja/apis/audioscrobbler.py
  l.26).
- `auth.getMobileSession` (https://www.last.fm/api/mobileauth: POST, signed, `username` and
  `password`) against `passwords` (user -> password): `{"session": {"name", "key",
  "subscriber": 0}}`, else error 4 (HTTP 401, "Invalid credentials", as Maloja answers it:
  apis/audioscrobbler.py l.22 and l.60-72).
- With `indexed_scrobbles_fail`, a compatible server whose indexed `track.scrobble` form breaks:
  any `name[i]` parameter is HTTP 500 `{"error": 8, "message": "Operation failed"}` and stores
  nothing, as Maloja's does (apis/audioscrobbler.py l.24, l.111-118: its indexed branch calls
  `self.scrobble` with arguments it does not take); the single form (no index) works.

Every request is recorded in `calls` with its arrival time and whether its signature was valid.

Limitation: the base server parses the query string without blank values, so a GET with an
empty parameter would fail the signature check here; scrobctl sends none on these calls.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote_plus

from tests.fakes.server import FakeService, Reply, Request

ROOT = "/2.0/"
UNSIGNED = frozenset({"format", "callback", "api_sig"})
TOKEN_LIFETIME = 3600.0
ALWAYS_SIGNED = frozenset({"auth.getToken", "auth.getSession", "auth.getMobileSession"})
# POST only, need `sk`
WRITE_METHODS = frozenset({"track.scrobble", "track.updateNowPlaying", "track.love"})
MAX_SCROBBLES = 50
MAX_AGE = 14 * 86_400  # older scrobbles are ignored with code 3 (A.4)
FUTURE_SLACK = 3600  # the "too new" threshold is unconfirmed; a little clock skew is allowed
INDEXED = re.compile(r"^([A-Za-z]+)\[(\d+)\]$")
SCROBBLE_FIELDS = (
    "artist",
    "track",
    "timestamp",
    "album",
    "albumArtist",
    "duration",
    "trackNumber",
    "mbid",
    "chosenByUser",
    "context",
    "streamId",
)
IGNORED_TEXT = {
    1: "Artist name failed filter: {artist}",
    2: "Track name failed filter: {track}",
    3: "Timestamp failed filter: too old",
    4: "Timestamp failed filter: too new",
    5: "Daily scrobble limit exceeded",
}

MESSAGES = {
    3: "Invalid Method - No method with that name in this package",
    4: "Invalid authentication token supplied",
    6: "Invalid parameters - Your request is missing a required parameter",
    9: "Invalid session key - Please re-authenticate",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    13: "Invalid method signature supplied",
    14: "This token has not been authorized",
    15: "This token has expired",
}
# A write method called with GET: Last.fm documents no answer; the fake says error 3.
GET_WRITE_MESSAGE = "Invalid Method - this method must be called with POST"
RECENT_LIMIT = 200  # user.getRecentTracks' documented maximum page size (A.6)
HTTP_STATUS = {3: 400, 4: 403, 6: 400, 9: 403, 10: 403, 13: 403, 14: 403, 15: 403}


def signature(params: dict[str, str], secret: str) -> str:
    """api_sig as Last.fm documents it (authspec section 8)."""
    text = "".join(name + params[name] for name in sorted(params) if name not in UNSIGNED)
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


@dataclass
class Call:
    """One request as the fake saw it."""

    at: float  # time.monotonic() on arrival
    http_method: str
    params: dict[str, str]
    signed: bool  # api_sig was sent
    signature_valid: bool | None  # None when no api_sig was sent
    error: int | None = None

    @property
    def method(self) -> str | None:
        return self.params.get("method")


@dataclass
class Scrobble:
    """One play as track.scrobble received it, with what the fake made of it."""

    at: float  # time.monotonic() of the request
    user: str
    artist: str
    track: str
    timestamp: int
    extra: dict[str, str]  # album, duration, mbid, ... as sent
    ignored: int = 0  # the ignoredMessage code answered (0: accepted)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.user, self.artist, self.track, self.timestamp


@dataclass
class NowPlaying:
    at: float  # time.monotonic() of the request
    wall: float  # time.time() of the request
    params: dict[str, str]


@dataclass
class AuthToken:
    api_key: str
    expires_at: float  # time.monotonic() deadline
    polls: int = 0
    approved_for: str | None = None  # the user who allowed access
    consumed: bool = False


@dataclass
class FakeLastfmState:
    tokens: dict[str, AuthToken] = field(default_factory=dict)
    issued_tokens: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # session key -> user name


class FakeLastfm(FakeService):
    def __init__(
        self,
        *,
        api_key: str = "lastfm-api-key",
        api_secret: str = "lastfm-api-secret",
        user_name: str = "rob",
        auto_approve_after: int | None = None,
        ignored_artists: set[str] | frozenset[str] = frozenset({"Various Artists"}),
        daily_limit: int | None = None,
        latency: float = 0.0,
        passwords: dict[str, str] | None = None,
        indexed_scrobbles_fail: bool = False,
    ) -> None:
        super().__init__(latency)
        self.apps = {api_key: api_secret}
        self.passwords = dict(passwords or {})  # auth.getMobileSession: user -> password
        self.indexed_scrobbles_fail = indexed_scrobbles_fail
        self.api_key = api_key
        self.api_secret = api_secret
        self.user_name = user_name
        # None: only approve() allows a token. N: after answering N polls with error 14, the
        # token is approved, so poll N + 1 gets the session.
        self.auto_approve_after = auto_approve_after
        self.ignored_artists = set(ignored_artists)  # answered with ignored code 1
        self.daily_limit = daily_limit  # accepted plays per user before code 5 (None: no cap)
        self.calls: list[Call] = []
        self.state = FakeLastfmState()
        # (user, artist, track, timestamp) -> the stored scrobble: what the profile shows
        self.scrobbles: dict[tuple[str, str, str, int], Scrobble] = {}
        self.received: list[Scrobble] = []  # every play of every track.scrobble, in order
        self.now_playing: dict[str, NowPlaying] = {}  # user -> the latest updateNowPlaying
        # The synthetic history user.getRecentTracks serves (see history_track).
        self.history_size = 0
        self.history_start = 1_600_000_000
        self.history_step = 180  # seconds between two scrobbles
        self.loved: list[dict[str, Any]] = []  # user.getLovedTracks entries, see love()
        # Methods answered as a compatible server answers those it lacks (error 3, HTTP 200).
        self.unsupported: set[str] = set()

    # -- scripting and inspection ------------------------------------------------------------
    def approve(self, token: str | None = None, user: str | None = None) -> None:
        """The user allows access for `token` (default: the newest one) on last.fm."""
        with self.lock:
            token = token or self.state.issued_tokens[-1]
            self.state.tokens[token].approved_for = user or self.user_name

    @property
    def token(self) -> str | None:
        with self.lock:
            return self.state.issued_tokens[-1] if self.state.issued_tokens else None

    def revoke_sessions(self) -> None:
        with self.lock:
            self.state.sessions.clear()

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def known_secrets(self) -> set[str]:
        with self.lock:
            return {*self.apps.values(), *self.state.sessions}

    @property
    def accepted(self) -> list[Scrobble]:
        """Every play answered with code 0, resends included."""
        with self.lock:
            return [s for s in self.received if s.ignored == 0]

    def stored(self, user: str | None = None) -> list[Scrobble]:
        """The user's scrobbles as Last.fm keeps them: each (artist, track, timestamp) once."""
        user = user or self.user_name
        with self.lock:
            return [s for s in self.scrobbles.values() if s.user == user]

    def history_track(self, i: int) -> dict[str, Any]:
        """Scrobble i of the synthetic history as user.getRecentTracks shows it: 150 tracks by
        30 artists played in turn; every third track has a recording MBID, every fifth no album."""
        k = i % 150
        uts = self.history_start + i * self.history_step
        artist, name = f"Artist {k % 30:02d}", f"Track {k:03d}"
        return {
            "artist": {"mbid": "", "#text": artist},
            "streamable": "0",
            "image": [{"size": "small", "#text": ""}],
            "mbid": str(uuid.UUID(int=k + 1)) if k % 3 == 0 else "",
            "album": {"mbid": "", "#text": "" if k % 5 == 4 else f"Album {k % 30:02d}"},
            "name": name,
            "url": f"https://www.last.fm/music/{quote_plus(artist)}/_/{quote_plus(name)}",
            "date": {"uts": str(uts), "#text": _date_text(uts)},
        }

    def love(self, artist: str, track: str, uts: int, mbid: str = "") -> None:
        """The user loved this track at `uts`: it is served by user.getLovedTracks."""
        with self.lock:
            self.loved.append(
                {
                    "artist": {
                        "url": f"https://www.last.fm/music/{quote_plus(artist)}",
                        "name": artist,
                        "mbid": "",
                    },
                    "date": {"uts": str(uts), "#text": _date_text(uts)},
                    "mbid": mbid,
                    "url": f"https://www.last.fm/music/{quote_plus(artist)}/_/{quote_plus(track)}",
                    "name": track,
                    "image": [{"size": "small", "#text": ""}],
                    "streamable": {"fulltrack": "0", "#text": "0"},
                }
            )

    # -- protocol ------------------------------------------------------------------------------
    def _error(self, call: Call, code: int, message: str | None = None) -> Reply:
        call.error = code
        text = message or MESSAGES[code]
        return Reply(HTTP_STATUS.get(code, 400), {"error": code, "message": text})

    def _params(self, request: Request) -> dict[str, str] | None:
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                self.problems.append(f"POST with Content-Type {content_type!r}")
            if request.query:
                self.problems.append("POST with parameters in the query string")
            raw = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        else:
            raw = request.query
        if any(len(values) != 1 for values in raw.values()):
            self.problems.append(f"repeated parameters: {sorted(raw)}")
            return None
        return {name: values[0] for name, values in raw.items()}

    def handle(self, request: Request) -> Reply:
        if request.path != ROOT:
            return Reply(404, raw=b"<html>Not found</html>", headers={"Content-Type": "text/html"})
        if not request.headers.get("user-agent"):
            with self.lock:
                self.problems.append("no User-Agent")
        with self.lock:
            params = self._params(request)
            call = Call(time.monotonic(), request.method, params or {}, False, None)
            self.calls.append(call)
            if params is None:
                return self._error(call, 6)
            if params.get("format") != "json":
                self.problems.append(f"format={params.get('format')!r}: only json is spoken")
                call.error = 6
                return Reply(
                    400,
                    raw=b'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="failed">'
                    b'<error code="6">format=json only</error></lfm>',
                    headers={"Content-Type": "text/xml"},
                )
            return self._answer(call, params)

    def _answer(self, call: Call, params: dict[str, str]) -> Reply:
        """Caller holds self.lock."""
        method = params.get("method", "")
        handlers = {
            "auth.getToken": self._get_token,
            "auth.getSession": self._get_session,
            "auth.getMobileSession": self._get_mobile_session,
            "user.getInfo": self._user_info,
            "track.scrobble": self._scrobble,
            "track.updateNowPlaying": self._update_now_playing,
            "user.getRecentTracks": self._recent_tracks,
            "user.getLovedTracks": self._loved_tracks,
            "track.love": self._love_track,
        }
        if method not in handlers or method in self.unsupported:
            if method in self.unsupported:
                # A compatible server's answer to a method it lacks: Maloja's
                # InvalidMethodException is HTTP 200 {"error": 3, "message": "Invalid method"}
                # (krateng/maloja 52aae99 maloja/apis/audioscrobbler.py l.26).
                call.error = 3
                return Reply(200, {"error": 3, "message": "Invalid method"})
            return self._error(call, 3)
        if method in WRITE_METHODS and call.http_method != "POST":
            self.problems.append(f"{method} sent with {call.http_method}, not POST")
            return self._error(call, 3, GET_WRITE_MESSAGE)
        secret = self.apps.get(params.get("api_key", ""))
        if secret is None:
            return self._error(call, 10)
        sent = params.get("api_sig")
        if sent is not None:
            call.signed = True
            call.signature_valid = sent.lower() == signature(params, secret)
        needs_signature = method in ALWAYS_SIGNED or method in WRITE_METHODS or "sk" in params
        if (needs_signature or sent is not None) and not call.signature_valid:
            return self._error(call, 13)
        return handlers[method](call, params)

    def _get_token(self, call: Call, params: dict[str, str]) -> Reply:
        token = secrets.token_hex(16)
        self.state.tokens[token] = AuthToken(params["api_key"], time.monotonic() + TOKEN_LIFETIME)
        self.state.issued_tokens.append(token)
        return Reply(200, {"token": token})

    def _get_session(self, call: Call, params: dict[str, str]) -> Reply:
        if "token" not in params:
            return self._error(call, 6)
        token = self.state.tokens.get(params["token"])
        if token is None or token.consumed or token.api_key != params["api_key"]:
            return self._error(call, 4)
        if time.monotonic() >= token.expires_at:
            return self._error(call, 15)
        auto = self.auto_approve_after
        if token.approved_for is None and auto is not None and token.polls >= auto:
            token.approved_for = self.user_name
        if token.approved_for is None:
            token.polls += 1
            return self._error(call, 14)
        token.consumed = True
        key = secrets.token_hex(16)
        self.state.sessions[key] = token.approved_for
        return Reply(200, {"session": {"name": token.approved_for, "key": key, "subscriber": 0}})

    def _get_mobile_session(self, call: Call, params: dict[str, str]) -> Reply:
        if call.http_method != "POST":
            self.problems.append("auth.getMobileSession sent with GET: the password in a URL")
        user, password = params.get("username"), params.get("password")
        if user is None or password is None:
            return self._error(call, 6)
        if self.passwords.get(user) != password:
            call.error = 4
            return Reply(401, {"error": 4, "message": "Invalid credentials"})
        key = secrets.token_hex(16)
        self.state.sessions[key] = user
        return Reply(200, {"session": {"name": user, "key": key, "subscriber": 0}})

    def _user_info(self, call: Call, params: dict[str, str]) -> Reply:
        if "sk" in params:
            name = self.state.sessions.get(params["sk"])
            if name is None:
                return self._error(call, 9)
        elif params.get("user") == self.user_name:
            name = self.user_name
        else:
            return self._error(call, 6)
        return Reply(
            200,
            {
                "user": {
                    "name": name,
                    "realname": "",
                    "url": f"https://www.last.fm/user/{name}",
                    "country": "None",
                    "age": "0",
                    "gender": "n",
                    "subscriber": "0",
                    "playcount": "0",
                    "playlists": "0",
                    "bootstrap": "0",
                    "registered": {"unixtime": "1262304000", "#text": 1262304000},
                    "type": "user",
                    "image": [{"size": "small", "#text": ""}],
                }
            },
        )

    # -- scrobbling (caller holds self.lock) -------------------------------------------------
    def _session_user(self, call: Call, params: dict[str, str]) -> str | Reply:
        if "sk" not in params:
            return self._error(call, 6)
        name = self.state.sessions.get(params["sk"])
        if name is None:
            return self._error(call, 9)
        return name

    def _ignored_code(self, user: str, artist: str, track: str, timestamp: int) -> int:
        now = time.time()
        if artist in self.ignored_artists:
            return 1
        if timestamp < now - MAX_AGE:
            return 3
        if timestamp > now + FUTURE_SLACK:
            return 4
        if self.daily_limit is not None:  # the fake's lifetime is one day
            taken = sum(1 for s in self.received if s.user == user and s.ignored == 0)
            if taken >= self.daily_limit:
                return 5
        return 0

    @staticmethod
    def _indexed(params: dict[str, str]) -> dict[int, dict[str, str]] | None:
        """{index: {field: value}} from `field[i]` parameters (or bare ones for one scrobble);
        None when a parameter is neither."""
        items: dict[int, dict[str, str]] = {}
        for name, value in params.items():
            if name in ("method", "api_key", "api_sig", "sk", "format", "callback"):
                continue
            match = INDEXED.match(name)
            if match:
                field_name, index = match.group(1), int(match.group(2))
            elif name in SCROBBLE_FIELDS:
                field_name, index = name, 0
            else:
                return None
            if field_name not in SCROBBLE_FIELDS:
                return None
            if field_name in items.setdefault(index, {}):
                return None  # `artist` and `artist[0]` both given
            items[index][field_name] = value
        return items

    def _scrobble(self, call: Call, params: dict[str, str]) -> Reply:
        user = self._session_user(call, params)
        if isinstance(user, Reply):
            return user
        if self.indexed_scrobbles_fail and any(INDEXED.match(name) for name in params):
            call.error = 8
            return Reply(500, {"error": 8, "message": "Operation failed"})
        items = self._indexed(params)
        if items is None or not items:
            return self._error(call, 6)
        if len(items) > MAX_SCROBBLES or sorted(items) != list(range(len(items))):
            return self._error(call, 6)
        plays: list[Scrobble] = []
        for index in range(len(items)):
            item = items[index]
            try:
                timestamp = int(item["timestamp"])
                artist, track = item["artist"], item["track"]
            except (KeyError, ValueError):
                return self._error(call, 6)
            if not artist.strip() or not track.strip():
                return self._error(call, 6)
            extra = {k: v for k, v in item.items() if k not in ("artist", "track", "timestamp")}
            plays.append(Scrobble(call.at, user, artist, track, timestamp, extra))
        answers = []
        for play in plays:
            play.ignored = self._ignored_code(user, play.artist, play.track, play.timestamp)
            self.received.append(play)
            if play.ignored == 0:
                self.scrobbles.setdefault(play.key, play)
            answers.append(self._scrobble_answer(play))
        accepted = sum(1 for p in plays if p.ignored == 0)
        body: dict[str, Any] = {
            "scrobbles": {
                "@attr": {"accepted": str(accepted), "ignored": str(len(plays) - accepted)},
                "scrobble": answers[0] if len(answers) == 1 else answers,
            }
        }
        return Reply(200, body)

    @staticmethod
    def _scrobble_answer(play: Scrobble) -> dict[str, Any]:
        text = IGNORED_TEXT.get(play.ignored, "").format(artist=play.artist, track=play.track)
        return {
            "track": {"corrected": "0", "#text": play.track},
            "artist": {"corrected": "0", "#text": play.artist},
            "album": {"corrected": "0", "#text": play.extra.get("album", "")},
            "albumArtist": {"corrected": "0", "#text": play.extra.get("albumArtist", "")},
            "timestamp": str(play.timestamp),
            "ignoredMessage": {"code": str(play.ignored), "#text": text},
        }

    def _update_now_playing(self, call: Call, params: dict[str, str]) -> Reply:
        user = self._session_user(call, params)
        if isinstance(user, Reply):
            return user
        artist, track = params.get("artist", ""), params.get("track", "")
        if not artist.strip() or not track.strip():
            return self._error(call, 6)
        if any(INDEXED.match(name) for name in params):
            return self._error(call, 6)  # no array notation here (A.5)
        code = 1 if artist in self.ignored_artists else 0
        if code == 0:
            self.now_playing[user] = NowPlaying(call.at, time.time(), dict(params))
        text = IGNORED_TEXT.get(code, "").format(artist=artist, track=track)
        return Reply(
            200,
            {
                "nowplaying": {
                    "track": {"corrected": "0", "#text": track},
                    "artist": {"corrected": "0", "#text": artist},
                    "album": {"corrected": "0", "#text": params.get("album", "")},
                    "albumArtist": {"corrected": "0", "#text": params.get("albumArtist", "")},
                    "ignoredMessage": {"code": str(code), "#text": text},
                }
            },
        )

    # -- reading the history (caller holds self.lock) ----------------------------------------
    def _paging(self, call: Call, params: dict[str, str]) -> tuple[int, int] | Reply:
        """(limit, page), or the error answer: an unknown user, or numbers that are not."""
        if params.get("user") != self.user_name:
            call.error = 6
            return Reply(404, {"error": 6, "message": "User not found"})
        try:
            limit, page = int(params.get("limit", "50")), int(params.get("page", "1"))
        except ValueError:
            return self._error(call, 6)
        if limit < 1 or page < 1:
            return self._error(call, 6)
        return limit, page

    def _recent_tracks(self, call: Call, params: dict[str, str]) -> Reply:
        paging = self._paging(call, params)
        if isinstance(paging, Reply):
            return paging
        limit, page = paging
        if limit > RECENT_LIMIT:
            self.problems.append(f"user.getRecentTracks with limit={limit} (at most 200)")
            limit = RECENT_LIMIT
        try:
            after = int(params["from"]) if "from" in params else None
            before = int(params["to"]) if "to" in params else None
        except ValueError:
            return self._error(call, 6)
        start, step, n = self.history_start, self.history_step, self.history_size
        # indices whose time is strictly between `from` and `to`: [low, high)
        low = 0 if after is None else min(n, max(0, (after - start) // step + 1))
        high = n if before is None else min(n, max(0, -((start - before) // step)))
        total = max(0, high - low)
        first = high - 1 - (page - 1) * limit  # newest on this page
        last = max(low, first - limit + 1)  # oldest on this page
        tracks = [self.history_track(i) for i in range(first, last - 1, -1)]
        playing = self.now_playing.get(self.user_name)
        if playing is not None and page == 1:
            tracks.insert(0, _now_playing_track(playing.params))
        attr = _page_attr(self.user_name, page, limit, total)
        return Reply(200, {"recenttracks": {"track": _one_or_list(tracks), "@attr": attr}})

    def _love_track(self, call: Call, params: dict[str, str]) -> Reply:
        """track.love (LFD method page: `artist`, `track`, `api_key`, `api_sig`, `sk`; a write
        method, POST): the track is loved now and listed by user.getLovedTracks; the answer is
        an empty `lfm status="ok"`, `{}` in JSON. Loving it again changes nothing."""
        user = self._session_user(call, params)
        if isinstance(user, Reply):
            return user
        artist, track = params.get("artist"), params.get("track")
        if not artist or not track:
            return self._error(call, 6)
        if not any(t["artist"]["name"] == artist and t["name"] == track for t in self.loved):
            uts = int(time.time())
            self.loved.append(
                {
                    "artist": {"url": "", "name": artist, "mbid": ""},
                    "date": {"uts": str(uts), "#text": _date_text(uts)},
                    "mbid": "",
                    "url": "",
                    "name": track,
                    "image": [],
                    "streamable": {"fulltrack": "0", "#text": "0"},
                }
            )
        return Reply(200, {})

    def _loved_tracks(self, call: Call, params: dict[str, str]) -> Reply:
        paging = self._paging(call, params)
        if isinstance(paging, Reply):
            return paging
        limit, page = paging
        loved = sorted(self.loved, key=lambda t: -int(t["date"]["uts"]))
        tracks = loved[(page - 1) * limit : page * limit]
        attr = _page_attr(self.user_name, page, limit, len(loved))
        return Reply(200, {"lovedtracks": {"track": _one_or_list(tracks), "@attr": attr}})


def _date_text(uts: int) -> str:
    return time.strftime("%d %b %Y, %H:%M", time.gmtime(uts))


def _page_attr(user: str, page: int, limit: int, total: int) -> dict[str, str]:
    return {
        "user": user,
        "totalPages": str(math.ceil(total / limit)),
        "page": str(page),
        "perPage": str(limit),
        "total": str(total),
    }


def _one_or_list(tracks: list[dict[str, Any]]) -> Any:
    """Last.fm's JSON is converted from XML: a single track comes as a bare object."""
    return tracks[0] if len(tracks) == 1 else tracks


def _now_playing_track(params: dict[str, str]) -> dict[str, Any]:
    artist, name = params.get("artist", ""), params.get("track", "")
    return {
        "artist": {"mbid": "", "#text": artist},
        "streamable": "0",
        "image": [{"size": "small", "#text": ""}],
        "mbid": params.get("mbid", ""),
        "album": {"mbid": "", "#text": params.get("album", "")},
        "name": name,
        "url": f"https://www.last.fm/music/{quote_plus(artist)}/_/{quote_plus(name)}",
        "@attr": {"nowplaying": "true"},
    }
