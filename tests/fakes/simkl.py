"""A Simkl-compatible fake: the PIN login and the user's settings (api-notes sections 9, 10.4).

- Every request must identify the app: `client_id` (query, or the `simkl-api-key` header),
  `app-name` and `app-version` (query). An unknown client id gets 412 `client_id_failed`; a
  missing `app-name`/`app-version` gets 400 `empty_field`. Error bodies have the documented shape
  `{"error": <id>, "code": <status>, "message": <text>}`.
- `GET /oauth/pin` makes a code: `{"result": "OK", "device_code": "DEVICE_CODE", "user_code",
  "verification_uri", "verification_url", "expires_in", "interval"}`.
- `GET /oauth/pin/{user_code}` is always HTTP 200: `{"result": "KO", "message": "Authorization
  pending"}` for the first `pending_polls` polls, then `{"result": "OK", "access_token": ...}`;
  the first `slow_down_polls` polls answer `{"result": "KO", "message": "Slow down"}`
  (apiary.apib l.421-455: `interval` is the least time between polls).
  The code is deleted on success (or expiry), and polling an unknown code falls through to
  making a NEW code, with the step-1 shape (`device_code` and all), as Simkl does.
- `POST /users/settings` with `Authorization: Bearer <token>` →
  `{"user": {"name": ...}, "account": {"id": ...}, ...}`; 401 `user_token_failed` otherwise.

Requirements without a documented server answer (User-Agent, JSON Content-Type on POST) are
collected in `problems` instead.

Sync and scrobble (api-notes 10.1, 10.2, 10.4), each with `Authorization: Bearer <token>` (else
401 `user_token_failed`):

- `POST /sync/history`: `movies[]` (`ids`, `watched_at`), `shows[]`/`anime[]` with
  `seasons[].episodes[]` (or `episodes[]`, shorthand for season 1), top-level `episodes[]` by
  ids. Every play is stored (in `plays`, resends included) and the item is filed in the
  library. Items carrying an id in `unknown_ids` (default tmdb 999999) are echoed in
  `not_found.movies` / `not_found.shows` with their ids as strings, as Simkl echoes them.
  Answer 201 `{"added": {"movies", "shows", "episodes", "statuses"}, "not_found": {"movies",
  "shows"}}`.
- `GET /sync/all-items[/{shows|movies|anime}[/{status}]]`: the library as `{shows: [...],
  movies: [...], anime: [...]}` (only the asked type with a type), entries with `status`,
  `last_watched_at`, `show`/`movie` `{title, year, ids}` (the `simkl` id a number, the others
  strings) and, for shows and anime, `seasons[].episodes[]` ONLY with `extended=full` (or
  `full_anime_seasons`): without it an entry is a summary (SIMKL/API apiary.apib "Get All
  Items", l.4293-4299, and its examples l.4345-4520). An episode's `watched_at` is there only
  with `episode_watched_at=yes` too (l.4299, l.3960-3963). A show whose ids meet `anime_ids`
  is filed in the `anime` bucket even when sent under `shows[]`, as Simkl files anime apart
  (l.4286; api-notes corrections item 8). `date_from` keeps the items changed at or after it
  (the delta), and an empty answer is a bare `null`, as Simkl sends.
- `POST /scrobble/start|pause|stop` (`movie`, or `show`/`anime` + `episode`, plus `progress`
  with at most two decimals): 201 `{id, action, progress, movie | show + episode}`; unknown ids
  404 `id_err`; a stop at 80 % or more adds a play.
- `POST /sync/ratings` (api-notes 10.3): `movies[]`, `shows[]`, `anime[]`, each item `ids`,
  `rating` (an integer 1-10) and optional `rated_at`. Ratings are kept in `ratings`; rating an
  item again overwrites its value. Out-of-range or non-integer values (0, 11, 7.5) are silently
  ignored, as Simkl does: neither added nor not found (the fake keeps them in
  `ignored_ratings`). Unknown ids (`unknown_ids`) are echoed in `not_found.movies` /
  `not_found.shows` with string ids; other top-level keys (e.g. `episodes`) are noted in
  `problems`. Answer 201 `{"added": {"movies", "shows", "statuses"}, "not_found": {"movies",
  "shows"}}`. The fake does not file rated items in the library.
- 1 POST a second per token on the write paths (`/sync/*`, `/scrobble/*`): a POST less than
  `post_interval` (minus `post_slack`) after the last accepted one gets 429 (with
  `Retry-After`, the seconds left) and is neither processed nor counted. `POST /users/settings`,
  a read under a POST verb, is not limited. `connect_latency` delays the first request on each
  connection, as a handshake with the real host would. Arrival times of every request are in
  `log`; `post_times()` and `throttled` give the POSTs and the 429s.
- `POST /sync/history/remove` (SIMKL/API apiary.apib l.5032-5105: `movies[]` and `shows[]`,
  a show with `seasons[]` (and `episodes[]`) unmarks only those; a show alone is removed
  entirely): a movie leaves the library with all its watches (Simkl addresses items, not single
  plays), an episode leaves its show. The apib shows no answer body; the fake answers as
  api-notes 10.2 give it, 201 `{"deleted": {"movies", "shows", "episodes"}, "not_found":
  {"movies", "shows"}}`, items it has not got echoed in `not_found` with string ids.
- `hold(method, path, skip=n)` makes matching requests after the first n wait, once processed
  (the plays are stored), until `.release` is set: the reply a killed client never reads.
"""

from __future__ import annotations

import math
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeService, Reply, Request, objects, parse_time

PIN_URL = "https://simkl.com/pin"
CODE_ALPHABET = string.ascii_uppercase + string.digits


LIMITED_PREFIXES = ("/sync/", "/scrobble/")
ITEM_TYPES = ("shows", "anime", "movies")


def _error(status: int, error: str, message: str) -> Reply:
    return Reply(status, {"error": error, "code": status, "message": message})


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stringified(item: dict[str, Any]) -> dict[str, Any]:
    """The item as Simkl echoes it in not_found: external ids as strings."""
    ids = item.get("ids")
    if not isinstance(ids, dict):
        return dict(item)
    return {**item, "ids": {k: str(v) for k, v in ids.items()}}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return any(str(a[k]) == str(b[k]) for k in a.keys() & b.keys() if a[k] is not None)


@dataclass
class SyncPlay:
    """One play as POST /sync/history received it."""

    kind: str  # movie | episode
    ids: dict[str, Any]  # the movie's or the show's (or a bare episode's) ids as sent
    watched_at: str | None
    season: int | None = None
    number: int | None = None
    at: float = 0.0  # time.monotonic() of the request


@dataclass
class SimklRating:
    """One rating as POST /sync/ratings stored it (the latest value for the item)."""

    kind: str  # movies | shows | anime
    ids: dict[str, Any]  # as sent
    rating: int
    rated_at: str | None
    at: float = 0.0  # time.monotonic() of the request that set it


@dataclass
class LibraryItem:
    """A movie or show in the user's library: what /sync/all-items lists."""

    kind: str  # movies | shows | anime
    simkl_id: int
    ids: dict[str, Any]
    title: str | None
    year: int | None
    updated_at: float  # time.time() of the last change, for date_from
    watched: list[float] = field(default_factory=list)  # movies: every watched_at
    episodes: dict[tuple[int, int], float] = field(default_factory=dict)  # latest watched_at

    def media(self) -> dict[str, Any]:
        ids: dict[str, Any] = {"simkl": self.simkl_id}
        ids.update({k: str(v) for k, v in self.ids.items() if k != "simkl"})
        return {"title": self.title, "year": self.year, "poster": None, "ids": ids}


@dataclass
class PinCode:
    user_code: str
    expires_at: float  # time.monotonic() deadline
    polls: int = 0


class FakeSimkl(FakeService):
    def __init__(
        self,
        *,
        client_id: str = "simkl-client-id",
        user_name: str = "rob",
        account_id: int = 424242,
        pending_polls: int = 2,
        interval: int = 1,
        expires_in: int = 900,
        unknown_ids: set[tuple[str, str]] | None = None,
        anime_ids: set[tuple[str, str]] | None = None,
        slow_down_polls: int = 0,
        post_interval: float = 1.0,
        post_slack: float = 0.05,
        connect_latency: float = 0.0,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency, connect_latency)
        self.client_id = client_id
        self.user_name = user_name
        self.account_id = account_id
        self.pending_polls = pending_polls
        self.interval = interval
        self.expires_in = expires_in

        self.codes: dict[str, PinCode] = {}  # live codes only; deleted on success or expiry
        self.issued_codes: list[str] = []  # every user_code ever made, in order
        self.tokens: set[str] = set()

        self.unknown_ids = unknown_ids if unknown_ids is not None else {("tmdb", "999999")}
        self.anime_ids = anime_ids or set()
        self.slow_down_polls = slow_down_polls
        self.poll_times: list[float] = []  # time.monotonic() of every PIN poll
        self.post_interval = post_interval
        self.post_slack = post_slack
        self.plays: list[SyncPlay] = []  # every play received, resends included
        self.library: list[LibraryItem] = []
        self._by_id: dict[tuple[str, str, str], LibraryItem] = {}
        self.scrobbles: list[dict[str, Any]] = []  # every accepted /scrobble/* body + action
        self.throttled: list[float] = []  # arrival times of the POSTs answered 429
        self._last_post: dict[str, float] = {}  # token -> arrival of its last write POST
        self._next_simkl_id = 500_000
        self.ratings: list[SimklRating] = []  # one per rated item, the latest value
        self.activity_at = time.time()  # the last change of any list: /sync/activities `all`
        self.ignored_ratings: list[dict[str, Any]] = []  # items whose rating Simkl drops

    # -- recording ---------------------------------------------------------------------------
    def post_times(self, prefix: str = "/") -> list[float]:
        """Arrival times of the POSTs whose path starts with `prefix`, 429s included."""
        with self.lock:
            return sorted(
                at for at, r in self.log if r.method == "POST" and r.path.startswith(prefix)
            )

    def requests_to(self, prefix: str) -> list[Request]:
        with self.lock:
            ordered = sorted(self.log, key=lambda e: e[0])
        return [r for _, r in ordered if r.path.startswith(prefix)]

    @property
    def user_code(self) -> str | None:
        with self.lock:
            return self.issued_codes[0] if self.issued_codes else None

    def known_secrets(self) -> set[str]:
        with self.lock:
            return set(self.tokens)

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        refused = self._identify(request)
        if refused is not None:
            return refused
        if request.path == "/oauth/pin" and request.method == "GET":
            return Reply(200, self._new_code())
        if request.path.startswith("/oauth/pin/") and request.method == "GET":
            return self._poll(request.path.removeprefix("/oauth/pin/"))
        if request.path == "/users/settings" and request.method == "POST":
            return self._settings(request)
        path, method = request.path, request.method
        if path == "/sync/history" and method == "POST":
            handler = self._add_history
        elif path == "/sync/ratings" and method == "POST":
            handler = self._add_ratings
        elif path == "/sync/history/remove" and method == "POST":
            handler = self._remove_history
        elif path.startswith("/sync/all-items") and method == "GET":
            handler = self._all_items
        elif path == "/sync/activities" and method in ("GET", "POST"):
            handler = self._activities
        elif path in ("/scrobble/start", "/scrobble/pause", "/scrobble/stop"):
            handler = self._scrobble
        else:
            return _error(404, "not_found", "Not found")
        if self._token(request) is None:
            return _error(401, "user_token_failed", "Token is not valid")
        reply = handler(request)
        if method == "POST" and path.startswith("/sync/") and reply.status < 300:
            with self.lock:
                self.activity_at = time.time()
        return reply

    def _activities(self, request: Request) -> Reply:
        """GET /sync/activities (apiary.apib "Get last activity"): when each list last changed;
        `all` moves with any change, which is what a client compares before all-items."""
        with self.lock:
            at = iso(self.activity_at)
        bucket = {"all": at, "rated_at": at, "completed": at, "watching": at}
        return Reply(200, {"all": at, "tv_shows": bucket, "anime": bucket, "movies": bucket})

    def _identify(self, request: Request) -> Reply | None:
        query = request.query
        client_id = (query.get("client_id") or [request.headers.get("simkl-api-key", "")])[0]
        if client_id != self.client_id:
            return _error(412, "client_id_failed", "Client ID is not valid")
        for name in ("app-name", "app-version"):
            if not (query.get(name) or [""])[0]:
                return _error(400, "empty_field", f"Required query parameter {name} is empty")
        if not request.headers.get("user-agent"):
            self._problem(f"{request.path}: no User-Agent")
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            self._problem(f"{request.path}: POST without Content-Type application/json")
        return None

    def _new_code(self) -> dict[str, Any]:
        with self.lock:
            while True:
                user_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
                if user_code not in self.codes:
                    break
            self.codes[user_code] = PinCode(user_code, time.monotonic() + self.expires_in)
            self.issued_codes.append(user_code)
        return {
            "result": "OK",
            "device_code": "DEVICE_CODE",
            "user_code": user_code,
            "verification_uri": PIN_URL,
            "verification_url": PIN_URL,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }

    def _poll(self, user_code: str) -> Reply:
        with self.lock:
            self.poll_times.append(time.monotonic())
            if self.slow_down_polls > 0 and user_code in self.codes:
                self.slow_down_polls -= 1
                return Reply(200, {"result": "KO", "message": "Slow down"})
            code = self.codes.get(user_code)
            if code is not None and time.monotonic() >= code.expires_at:
                del self.codes[user_code]
                code = None
            if code is not None:
                code.polls += 1
                if code.polls <= self.pending_polls:
                    return Reply(200, {"result": "KO", "message": "Authorization pending"})
                del self.codes[user_code]
                token = "simkl-token-" + secrets.token_hex(16)
                self.tokens.add(token)
                return Reply(200, {"result": "OK", "access_token": token})
        # Unknown, used or expired: Simkl falls through to making a new code.
        return Reply(200, self._new_code())

    def _settings(self, request: Request) -> Reply:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self.lock:
            ok = scheme == "Bearer" and token in self.tokens
        if not ok:
            return _error(401, "user_token_failed", "Token is not valid")
        return Reply(
            200,
            {
                "user": {
                    "name": self.user_name,
                    "joined_at": "2016-01-01T00:00:00Z",
                    "gender": "",
                    "avatar": "",
                    "bio": "",
                    "loc": "",
                    "age": "",
                },
                "account": {"id": self.account_id, "timezone": "UTC", "type": "free"},
                "connections": {"facebook": False},
            },
        )

    # -- sync and scrobble -------------------------------------------------------------------
    def _token(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self.lock:
            return token if scheme == "Bearer" and token in self.tokens else None

    def refuse(self, request: Request, at: float) -> Reply | None:
        """1 POST a second per access token on the write paths (api-notes 10.4)."""
        if request.method != "POST" or not request.path.startswith(LIMITED_PREFIXES):
            return None
        token = self._token(request)
        if token is None:
            return None  # the handler answers 401 (or 412)
        with self.lock:
            last = self._last_post.get(token)
            if last is None or at - last >= self.post_interval - self.post_slack:
                self._last_post[token] = at
                return None
            self.throttled.append(at)  # refused, so not counted against the next one
        reply = _error(429, "rate_limit", "Too many POST requests: 1 per second")
        reply.headers["Retry-After"] = str(max(1, math.ceil(self.post_interval - (at - last))))
        return reply

    def _unknown(self, item: dict[str, Any]) -> bool:
        ids = item.get("ids")
        if not isinstance(ids, dict) or not ids:
            return not item.get("title")  # title + year is the fallback match
        return any((str(k), str(v)) in self.unknown_ids for k, v in ids.items())

    def _file(self, kind: str, item: dict[str, Any]) -> LibraryItem:
        """The library entry for `item`, made on first sight (caller holds self.lock)."""
        ids = item.get("ids") if isinstance(item.get("ids"), dict) else {}
        # An index by (kind, id name, value) keeps filing linear: a big benchmark library
        # would otherwise make the fake, not the client, the slow part.
        candidates = [
            e for k, v in ids.items() if (e := self._by_id.get((kind, str(k), str(v)))) is not None
        ] or ([] if ids else self.library)
        for entry in candidates:
            if entry.kind == kind and (
                _same(entry.ids, ids) or (not ids and entry.title == item.get("title"))
            ):
                entry.ids.update({k: v for k, v in ids.items() if k not in entry.ids})
                for k, v in entry.ids.items():
                    self._by_id.setdefault((kind, str(k), str(v)), entry)
                entry.updated_at = time.time()
                return entry
        simkl_id = ids.get("simkl")
        if simkl_id is None:
            simkl_id = self._next_simkl_id
            self._next_simkl_id += 1
        entry = LibraryItem(
            kind, int(simkl_id), dict(ids), item.get("title"), item.get("year"), time.time()
        )
        self.library.append(entry)
        for k, v in entry.ids.items():
            self._by_id.setdefault((kind, str(k), str(v)), entry)
        return entry

    def _add_history(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "wrong_parameter", "The body is not a JSON object")
        at = time.monotonic()
        now = time.time()
        added: dict[str, Any] = {"movies": 0, "shows": 0, "episodes": 0, "statuses": []}
        not_found: dict[str, list[Any]] = {"movies": [], "shows": []}

        def when(value: Any) -> tuple[str, float] | None:
            if value is None:
                return iso(now), now
            ts = parse_time(value)
            return None if ts is None else (iso(ts), ts)

        with self.lock:
            for movie in objects(body.get("movies")):
                watched = when(movie.get("watched_at"))
                if watched is None:
                    return _error(400, "wrong_parameter", "watched_at is not a date")
                if self._unknown(movie):
                    not_found["movies"].append(_stringified(movie))
                    continue
                entry = self._file("movies", movie)
                entry.watched.append(watched[1])
                self.plays.append(SyncPlay("movie", movie.get("ids") or {}, watched[0], at=at))
                added["movies"] += 1
                added["statuses"].append(
                    {
                        "request": movie,
                        "response": {"status": "completed", "simkl_type": "movie"},
                    }
                )
            for kind in ("shows", "anime"):
                for show in objects(body.get(kind)):
                    if self._unknown(show):
                        not_found["shows"].append(_stringified(show))
                        continue
                    seasons = objects(show.get("seasons"))
                    if not seasons and show.get("episodes"):
                        seasons = [{"number": 1, "episodes": show["episodes"]}]
                    if not seasons:
                        self._problem("POST /sync/history: a whole show; the fake has no catalogue")
                    entry = self._file("anime" if self._is_anime(show) else kind, show)
                    added["shows"] += 1
                    added["statuses"].append(
                        {
                            "request": show,
                            "response": {"status": "watching", "simkl_type": "tv"},
                        }
                    )
                    for season in seasons:
                        for episode in objects(season.get("episodes")):
                            raw = episode.get("watched_at", season.get("watched_at"))
                            watched = when(raw if raw is not None else show.get("watched_at"))
                            if watched is None:
                                return _error(400, "wrong_parameter", "watched_at is not a date")
                            key = (int(season.get("number", 1)), int(episode.get("number", 0)))
                            entry.episodes[key] = max(entry.episodes.get(key, 0.0), watched[1])
                            self.plays.append(
                                SyncPlay(
                                    "episode",
                                    show.get("ids") or {},
                                    watched[0],
                                    key[0],
                                    key[1],
                                    at,
                                )
                            )
                            added["episodes"] += 1
            for episode in objects(body.get("episodes")):
                watched = when(episode.get("watched_at"))
                if watched is None:
                    return _error(400, "wrong_parameter", "watched_at is not a date")
                if self._unknown(episode):
                    not_found["shows"].append(_stringified(episode))
                    continue
                self.plays.append(SyncPlay("episode", episode.get("ids") or {}, watched[0], at=at))
                added["episodes"] += 1
        return Reply(201, {"added": added, "not_found": not_found})

    def _find(self, kind: str, ids: dict[str, Any]) -> LibraryItem | None:
        return next((e for e in self.library if e.kind == kind and _same(e.ids, ids)), None)

    def _remove_history(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "wrong_parameter", "The body is not a JSON object")
        deleted = {"movies": 0, "shows": 0, "episodes": 0}
        not_found: dict[str, list[Any]] = {"movies": [], "shows": []}
        with self.lock:
            for movie in objects(body.get("movies")):
                entry = self._find("movies", movie.get("ids") or {})
                if entry is None or not entry.watched:
                    not_found["movies"].append(_stringified(movie))
                    continue
                self.library.remove(entry)
                self._by_id = {k: v for k, v in self._by_id.items() if v is not entry}
                deleted["movies"] += 1
            for kind in ("shows", "anime"):
                for show in objects(body.get(kind)):
                    entry = self._find(kind, show.get("ids") or {})
                    if entry is None:
                        not_found["shows"].append(_stringified(show))
                        continue
                    seasons = objects(show.get("seasons"))
                    if not seasons:
                        deleted["episodes"] += len(entry.episodes)
                        entry.episodes.clear()
                        deleted["shows"] += 1
                        continue
                    for season in seasons:
                        number = season.get("number")
                        episodes = objects(season.get("episodes"))
                        keys = [
                            k
                            for k in entry.episodes
                            if k[0] == number
                            and (not episodes or k[1] in {e.get("number") for e in episodes})
                        ]
                        for key in keys:
                            del entry.episodes[key]
                        deleted["episodes"] += len(keys)
                    entry.updated_at = time.time()
        return Reply(201, {"deleted": deleted, "not_found": not_found})

    def _all_items(self, request: Request) -> Reply:
        parts = [p for p in request.path.removeprefix("/sync/all-items").split("/") if p]
        if len(parts) > 2 or (parts and parts[0] not in ITEM_TYPES):
            return _error(404, "not_found", "Not found")
        kinds = [parts[0]] if parts else list(ITEM_TYPES)
        status = parts[1] if len(parts) == 2 else None
        query = {k: v[0] for k, v in request.query.items()}
        since = None
        if "date_from" in query:
            since = parse_time(query["date_from"])
            if since is None:
                return _error(400, "wrong_parameter", "date_from is not a date")
        full = query.get("extended") in ("full", "full_anime_seasons")
        with_times = full and query.get("episode_watched_at") == "yes"
        body: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            for kind in kinds:
                entries = []
                for item in self.library:
                    if item.kind != kind or (since is not None and item.updated_at < since):
                        continue
                    entry = self._entry(item, full, with_times)
                    if status is None or entry["status"] == status:
                        entries.append(entry)
                if entries:
                    body[kind] = entries
        if not body:
            return Reply(200, raw=b"null")
        return Reply(200, body)

    def _is_anime(self, show: dict[str, Any]) -> bool:
        ids = show.get("ids") if isinstance(show.get("ids"), dict) else {}
        return any((str(k), str(v)) in self.anime_ids for k, v in ids.items())

    def _rated(self, item: LibraryItem) -> tuple[int | None, str | None]:
        """The item's rating and when it was given, as all-items lists them (`user_rating`,
        `user_rated_at`: SIMKL/API apiary.apib "Get All Items" examples; api-notes 10.1)."""
        for kept in self.ratings:
            if kept.kind == item.kind and _same(kept.ids, item.ids):
                return kept.rating, kept.rated_at
        return None, None

    def _entry(self, item: LibraryItem, full: bool, with_times: bool) -> dict[str, Any]:
        rating, rated_at = self._rated(item)
        if item.kind == "movies":
            last = max(item.watched) if item.watched else None
            return {
                "added_to_watchlist_at": None,
                "last_watched_at": iso(last) if last is not None else None,
                "user_rated_at": rated_at,
                "user_rating": rating,
                "status": "completed" if item.watched else "plantowatch",
                "movie": item.media(),
            }
        seasons: dict[int, list[dict[str, Any]]] = {}
        for (season, number), ts in sorted(item.episodes.items()):
            episode: dict[str, Any] = {"number": number}
            if with_times:
                episode["watched_at"] = iso(ts)
            seasons.setdefault(season, []).append(episode)
        last = max(item.episodes.values()) if item.episodes else None
        summary = {
            "added_to_watchlist_at": None,
            "last_watched_at": iso(last) if last is not None else None,
            "user_rated_at": rated_at,
            "user_rating": rating,
            "status": "watching",
            "last_watched": None,
            "next_to_watch": None,
            "watched_episodes_count": len(item.episodes),
            "total_episodes_count": len(item.episodes),
            "not_aired_episodes_count": 0,
            "show": item.media(),
        }
        if item.kind == "anime":
            summary["anime_type"] = "tv"
        if full:
            summary["seasons"] = [{"number": n, "episodes": eps} for n, eps in seasons.items()]
        return summary

    def _scrobble(self, request: Request) -> Reply:
        if request.method != "POST":
            return _error(404, "not_found", "Not found")
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "wrong_parameter", "The body is not a JSON object")
        action = request.path.rsplit("/", 1)[1]
        progress = body.get("progress")
        if isinstance(progress, bool) or not isinstance(progress, int | float):
            return _error(400, "empty_field", "progress is required")
        if not 0 <= progress <= 100 or round(progress, 2) != progress:
            return _error(400, "wrong_parameter", "progress is 0-100 with 2 decimals at most")
        movie = body.get("movie")
        show = body.get("show") or body.get("anime")
        episode = body.get("episode")
        if isinstance(movie, dict) == isinstance(show, dict) or (
            isinstance(show, dict) and not isinstance(episode, dict)
        ):
            return _error(400, "wrong_parameter", "one movie, or a show with an episode")
        item = movie if isinstance(movie, dict) else show
        assert isinstance(item, dict)
        if self._unknown(item):
            return _error(404, "id_err", "The item could not be found")
        answered = action
        if action == "stop":
            answered = "scrobble" if progress >= 80 else "pause"
        with self.lock:
            if answered == "scrobble":
                now = time.time()
                if isinstance(movie, dict):
                    self._file("movies", movie).watched.append(now)
                    self.plays.append(SyncPlay("movie", movie.get("ids") or {}, iso(now)))
                else:
                    assert isinstance(episode, dict)
                    key = (int(episode.get("season", 1)), int(episode.get("number", 0)))
                    self._file("shows", item).episodes[key] = now
                    self.plays.append(
                        SyncPlay("episode", item.get("ids") or {}, iso(now), key[0], key[1])
                    )
            self.scrobbles.append({**body, "action": answered})
            scrobble_id = len(self.scrobbles)
        reply: dict[str, Any] = {"id": scrobble_id, "action": answered, "progress": progress}
        if isinstance(movie, dict):
            reply["movie"] = movie
        else:
            reply["show"] = show
            reply["episode"] = episode
        return Reply(201, reply)

    def _add_ratings(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "wrong_parameter", "The body is not a JSON object")
        for key in body:
            if key not in ITEM_TYPES:
                self._problem(f"POST /sync/ratings: {key!r} is not movies, shows or anime")
        at = time.monotonic()
        added: dict[str, Any] = {"movies": 0, "shows": 0, "statuses": []}
        not_found: dict[str, list[Any]] = {"movies": [], "shows": []}
        with self.lock:
            for kind in ITEM_TYPES:
                for item in objects(body.get(kind)):
                    rating = item.get("rating")
                    rated_at = item.get("rated_at")
                    if rated_at is not None and parse_time(rated_at) is None:
                        return _error(400, "wrong_parameter", "rated_at is not a date")
                    if (
                        isinstance(rating, bool)
                        or not isinstance(rating, int)
                        or not 1 <= rating <= 10
                    ):
                        self.ignored_ratings.append(item)  # silently, as Simkl does
                        continue
                    bucket = "movies" if kind == "movies" else "shows"
                    if self._unknown(item):
                        not_found[bucket].append(_stringified(item))
                        continue
                    ids = item.get("ids") if isinstance(item.get("ids"), dict) else {}
                    for kept in self.ratings:
                        if kept.kind == kind and _same(kept.ids, ids):
                            kept.rating, kept.rated_at, kept.at = rating, rated_at, at
                            break
                    else:
                        self.ratings.append(SimklRating(kind, dict(ids), rating, rated_at, at))
                    added[bucket] += 1
                    status = "completed" if kind == "movies" else "watching"
                    simkl_type = {"movies": "movie", "shows": "tv", "anime": "anime"}[kind]
                    added["statuses"].append(
                        {"request": item, "response": {"status": status, "simkl_type": simkl_type}}
                    )
        return Reply(201, {"added": added, "not_found": not_found})

    def add_watched_episode(
        self, show: dict[str, Any], season: int, number: int, watched_ts: float
    ) -> None:
        """An episode already marked watched (another app did it): in the library as
        POST /sync/history files one, not counted in `plays`."""
        with self.lock:
            entry = self._file("shows", show)
            entry.episodes[(season, number)] = watched_ts
            self.activity_at = time.time()

    def add_rating(self, kind: str, item: dict[str, Any], rating: int, rated_at: str) -> None:
        """An item the user rated on Simkl (in the library, as rating files it there)."""
        with self.lock:
            entry = self._file(kind, item)
            self.ratings.append(SimklRating(kind, dict(entry.ids), rating, rated_at))
            self.activity_at = time.time()
