"""A Trakt-compatible fake serving both hosts scrobctl talks to (api-notes sections 0-2).

OAuth host paths: `POST /oauth/device/code`, `POST /oauth/device/token`, `POST /oauth/token`
(refresh) and `POST /oauth/revoke`. API host path: `GET /users/settings`. Point both
`SCROBCTL_TRAKT__AUTH_URL` and `SCROBCTL_TRAKT__API_URL` at `url`.

Wire formats follow the notes: JSON bodies; the device poll answers from a scripted list of
statuses, where 400 ("pending") has an empty body and 200 carries the token response
`{access_token, token_type, expires_in, refresh_token, scope, created_at}`; refresh tokens are
single-use and rotate, so a spent or unknown one gets 400 `invalid_grant`; a wrong client id or
secret gets 401 `invalid_client`.

The fake does not judge expiry by the clock: like the real service's answer to the client, the
expiry is `created_at + expires_in`, which the client computes itself. An access token stops
working here when it is rotated away by a refresh or revoked. Set `created_at` (unix seconds) to
hand out tokens that the client already considers expired.

Requirements the notes state without a documented server answer (Content-Type, a JSON body on
the OAuth endpoints, the oob redirect URI) are also collected in `problems`, so a test can
assert the client spoke the protocol exactly.

Sync and scrobble (api-notes 3, 4.1, 4.2, 6, 7), on the API host. Every call needs the Trakt
headers and a current Bearer token (else 401, as `/users/settings`); POST bodies must be JSON
(else 412).

- `POST /sync/history` stores every play it is given (`movies[]` and `episodes[]` by `ids`,
  `shows[]` with `seasons[].episodes[]` by number; `watched_at` per item, default now) with a
  new history id. Like Trakt it does NOT de-duplicate item + watched_at: a resend is a second
  play. Items carrying an id in `unknown_ids` (default tmdb 999999) are echoed back under
  `not_found`. Answer 201 `{"added": {"movies": n, "episodes": n}, "not_found": {"movies",
  "shows", "seasons", "episodes"}}`.
- `GET /sync/history[/movies|/episodes]` with `start_at`/`end_at` (ISO-8601, inclusive),
  `page` and `limit` (default 100, clamped to 250): newest first, as `{id, watched_at, action,
  type, movie | episode + show}`, with `X-Pagination-Page`, `-Limit`, `-Page-Count` and
  `-Item-Count` headers.
- `POST /scrobble/start|pause|stop` (one item plus `progress`): 201 `{id, action, progress,
  sharing, movie | episode + show}`; unknown ids 404, a stop under 1 % 422, a stop above 80 %
  adds a play (`action: scrobble`), between them it is a pause.
- AUTHED_API_POST_LIMIT (per user, api-notes trakt-simkl-tmdb.md rate-limit table): a POST to
  the API host (not `/oauth/*`) arriving less than `post_interval` (1 s, minus `post_slack` for
  arrival jitter) after the last accepted one of the same user (the token's) gets
  429 with `Retry-After` (the seconds left) and `X-Ratelimit`, and is neither processed nor
  counted. `connect_latency` delays the first request on each connection, as a handshake with
  the real host would, so that a client timing its POSTs from when it starts sending (not from
  the previous answer) is caught too. Arrival times of all requests are in `log`;
  `post_times()` and `throttled` give the POSTs and the 429s.
- `GET /sync/ratings/{movies|shows|seasons|episodes}` (api-notes 5; trakt/trakt-api
  contracts/sync/index.ts l.371-384: the path's `type` is any sync type, the query takes
  page/limit) serves the entries of `ratings` (the constructor's list, or set the attribute) of
  that type, each in Trakt's shape `{rated_at, rating, type, movie | show | season + show |
  episode + show}`, newest rating first. "Pagination optional": everything unless `page` or
  `limit` is sent (then pages as history does, with the X-Pagination-* headers), or always
  pages of `forced_ratings_limit` when that is set.
- `POST /sync/history/remove` (trakt/trakt-api contracts/sync/index.ts l.246-267, request
  schema/request/historyRemoveRequestSchema.ts, answer schema/response/
  historyRemoveResponseSchema.ts l.5-8): `ids[]` (history ids) deletes those single plays;
  `movies[]` / `episodes[]` by ids delete every play of that item, `shows[]` with
  `seasons[].episodes[]` every play of those episodes. Answer 200 `{"deleted": {"movies",
  "episodes"}, "not_found": {"movies", "shows", "seasons", "episodes", "ids"}}` (unknown history
  ids echoed under `ids`, api-notes 4.3). Removed plays leave `plays` for `removed`.
- `hold(method, path, skip=n)` makes matching requests after the first n wait, once processed
  (the plays are stored), until `.release` is set: the reply a killed client never reads.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeService, Reply, Request, objects, parse_time

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
SEVEN_DAYS = 7 * 86_400
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


HISTORY_TYPES = ("movies", "shows", "seasons", "episodes")
DEFAULT_PAGE_LIMIT = 100  # observed on history endpoints since 2026 (the docs still say 10)
MAX_PAGE_LIMIT = 250


def _oauth_error(status: int, error: str, description: str) -> Reply:
    return Reply(status, {"error": error, "error_description": description})


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Play:
    """One history entry as Trakt keeps it, with when it was added."""

    id: int
    watched_ts: float | None  # None for watched_at "unknown"
    entry: dict[str, Any]  # the GET /sync/history shape
    added_at: float  # time.monotonic()


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    expires_at: float  # time.monotonic() deadline
    polls: int = 0
    used: bool = False


@dataclass
class Refresh:
    """One refresh request: when it arrived, when it was answered, and with what status."""

    received_at: float
    answered_at: float
    status: int
    refresh_token: str


class FakeTrakt(FakeService):
    def __init__(
        self,
        *,
        client_id: str = "trakt-client-id",
        client_secret: str = "trakt-client-secret",
        username: str = "rob",
        poll_statuses: Sequence[int] = (400, 200),
        interval: int = 1,
        code_expires_in: int = 600,
        expires_in: int = SEVEN_DAYS,
        created_at: int | None = None,
        refresh_delay: float = 0.0,
        verification_url: str = "https://trakt.tv/activate",
        unknown_ids: set[tuple[str, str]] | None = None,
        post_interval: float = 1.0,
        post_slack: float = 0.05,
        connect_latency: float = 0.0,
        latency: float = 0.0,
        ratings: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(latency, connect_latency)
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        # Answers to successive /oauth/device/token polls for a device code; once the list is
        # spent the code stays pending (400), and after a 200 it is "already used" (409).
        self.poll_statuses = list(poll_statuses)
        self.interval = interval
        self.code_expires_in = code_expires_in
        # Token responses carry these; created_at None means "now".
        self.expires_in = expires_in
        self.created_at = created_at
        self.refresh_delay = refresh_delay  # seconds a refresh takes, so processes can overlap
        self.verification_url = verification_url

        self.codes: dict[str, DeviceCode] = {}
        self.access_tokens: set[str] = set()  # currently valid
        self.refresh_tokens: dict[str, str] = {}  # currently valid refresh -> its access token
        self.spent_refresh_tokens: set[str] = set()
        self.issued: list[dict[str, Any]] = []  # every token response handed out
        self.refreshes: list[Refresh] = []  # every refresh request, successful or not
        self.revoked: list[str] = []
        self._poll_index = 0

        # Sync and scrobble.
        # (id name, str(value)) pairs Trakt cannot match: items carrying one go to not_found.
        self.unknown_ids = unknown_ids if unknown_ids is not None else {("tmdb", "999999")}
        self.post_interval = post_interval
        self.post_slack = post_slack
        self.plays: list[Play] = []  # every play added, in order; resends included
        self.removed: list[Play] = []  # plays taken out by POST /sync/history/remove
        self.scrobbles: list[dict[str, Any]] = []  # every accepted /scrobble/* body + action
        self.throttled: list[float] = []  # arrival times of the POSTs answered 429
        # AUTHED_API_POST_LIMIT counts per user (api-notes trakt-simkl-tmdb.md, the rate-limit
        # table): each access token belongs to the user it was issued to.
        self.token_users: dict[str, str] = {}
        self._last_post: dict[str, float] = {}  # user -> arrival of their last accepted POST
        self._next_history_id = 1_000_000
        # GET /sync/ratings/{type}: the user's ratings, as Trakt lists them.
        self.ratings: list[dict[str, Any]] = list(ratings or [])
        # Pages of this size whatever is asked, as the forced pagination Trakt put on
        # "pagination optional" lists in 2026 (trakt/trakt-api#919; api-notes corrections 11).
        self.forced_ratings_limit: int | None = None

    # -- recording ---------------------------------------------------------------------------
    def post_times(self, path: str | None = None) -> list[float]:
        """Arrival times of the POSTs to the API host (or to `path`), 429s included."""
        with self.lock:
            return sorted(
                at
                for at, r in self.log
                if r.method == "POST"
                and not r.path.startswith("/oauth/")
                and (path is None or r.path == path)
            )

    def history_posts(self) -> list[Request]:
        return [r for r in self.requests_to("/sync/history") if r.method == "POST"]

    def history_gets(self) -> list[Request]:
        return [r for r in self.requests_to("/sync/history") if r.method == "GET"]

    def times(self, path: str) -> list[float]:
        """Arrival times (time.monotonic()) of the requests to `path`, in order."""
        with self.lock:
            return sorted(at for at, r in self.log if r.path == path)

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for _, r in sorted(self.log, key=lambda e: e[0]) if r.path == path]

    # -- scripting ---------------------------------------------------------------------------
    @property
    def successful_refreshes(self) -> int:
        with self.lock:
            return sum(1 for r in self.refreshes if r.status == 200)

    @property
    def current_access_token(self) -> str | None:
        with self.lock:
            return self.issued[-1]["access_token"] if self.issued else None

    def invalidate_refresh_tokens(self) -> None:
        """Make every refresh token unusable (Trakt's answer to pre-migration tokens)."""
        with self.lock:
            self.spent_refresh_tokens.update(self.refresh_tokens)
            self.refresh_tokens.clear()

    def known_secrets(self) -> set[str]:
        """Every secret this fake handed out or knows: tokens and the client secret."""
        with self.lock:
            found = {self.client_secret}
            for token in self.issued:
                found.add(token["access_token"])
                found.add(token["refresh_token"])
            return found

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        routes = {
            "/oauth/device/code": self._device_code,
            "/oauth/device/token": self._device_token,
            "/oauth/token": self._token,
            "/oauth/revoke": self._revoke,
        }
        if request.path in routes:
            if request.method != "POST":
                return Reply(405, {"error": "method_not_allowed"})
            body = self._json_body(request)
            if body is None:
                return _oauth_error(400, "invalid_request", "The request body is not JSON.")
            return routes[request.path](body)
        if request.path == "/users/settings":
            if request.method != "GET":
                return Reply(405, {"error": "method_not_allowed"})
            return self._settings(request)
        api = {
            ("POST", "/sync/history"): self._add_history,
            ("POST", "/sync/history/remove"): self._remove_history,
            ("GET", "/sync/history"): self._get_history,
            ("GET", "/sync/history/movies"): self._get_history,
            ("GET", "/sync/history/episodes"): self._get_history,
            ("POST", "/scrobble/start"): self._scrobble,
            ("POST", "/scrobble/pause"): self._scrobble,
            ("POST", "/scrobble/stop"): self._scrobble,
            ("GET", "/sync/ratings/movies"): self._get_ratings,
            ("GET", "/sync/ratings/episodes"): self._get_ratings,
            ("GET", "/sync/ratings/shows"): self._get_ratings,
            ("GET", "/sync/ratings/seasons"): self._get_ratings,
            ("POST", "/sync/ratings"): self._add_ratings,
        }
        handler = api.get((request.method, request.path))
        if handler is None:
            if any(path == request.path for _, path in api):
                return Reply(405, {"error": "method_not_allowed"})
            return Reply(404, raw=b"", headers={"Content-Type": "text/plain"})
        refused = self._authorize(request)
        if refused is not None:
            return refused
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return Reply(412, {"error": "precondition_failed", "message": "use application/json"})
        return handler(request)

    def _json_body(self, request: Request) -> dict[str, Any] | None:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            self._problem(f"{request.path}: Content-Type {content_type!r}, not application/json")
        try:
            body = json.loads(request.body)
        except ValueError:
            self._problem(f"{request.path}: the body is not JSON")
            return None
        if not isinstance(body, dict):
            self._problem(f"{request.path}: the body is not a JSON object")
            return None
        return body

    def _client_ok(self, body: dict[str, Any], *, secret: bool) -> bool:
        if body.get("client_id") != self.client_id:
            return False
        return not secret or body.get("client_secret") == self.client_secret

    def _invalid_client(self) -> Reply:
        return _oauth_error(
            401,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication "
            "included, or unsupported authentication method.",
        )

    def _token_response(self, user: str | None = None) -> dict[str, Any]:
        """A new token pair for `user` (the current username unless a refresh names the old
        pair's), registered as current (caller holds self.lock)."""
        created = self.created_at if self.created_at is not None else int(time.time())
        token = {
            "access_token": "trakt-access-" + secrets.token_hex(16),
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": "trakt-refresh-" + secrets.token_hex(16),
            "scope": "public",
            "created_at": created,
        }
        self.access_tokens.add(token["access_token"])
        self.token_users[token["access_token"]] = user or self.username
        self.refresh_tokens[token["refresh_token"]] = token["access_token"]
        self.issued.append(token)
        return token

    # -- OAuth host --------------------------------------------------------------------------
    def _device_code(self, body: dict[str, Any]) -> Reply:
        if not self._client_ok(body, secret=False):
            return self._invalid_client()
        code = DeviceCode(
            device_code=secrets.token_hex(32),
            user_code=secrets.token_hex(4).upper(),
            expires_at=time.monotonic() + self.code_expires_in,
        )
        with self.lock:
            self.codes[code.device_code] = code
        return Reply(
            200,
            {
                "device_code": code.device_code,
                "user_code": code.user_code,
                "verification_url": self.verification_url,
                "expires_in": self.code_expires_in,
                "interval": self.interval,
            },
        )

    @property
    def user_code(self) -> str | None:
        with self.lock:
            codes = list(self.codes.values())
        return codes[-1].user_code if codes else None

    def _device_token(self, body: dict[str, Any]) -> Reply:
        if "device_code" in body and "code" not in body:
            self._problem("/oauth/device/token: sent RFC 8628's device_code instead of code")
        if not self._client_ok(body, secret=True):
            return self._invalid_client()
        with self.lock:
            code = self.codes.get(str(body.get("code")))
            if code is None:
                return Reply(404, raw=b"")
            if code.used:
                return Reply(409, raw=b"")
            if time.monotonic() >= code.expires_at:
                return Reply(410, raw=b"")
            status = (
                self.poll_statuses[self._poll_index]
                if self._poll_index < len(self.poll_statuses)
                else 400
            )
            self._poll_index += 1
            code.polls += 1
            if status == 200:
                code.used = True
                return Reply(200, self._token_response())
        if status == 429:
            return Reply(429, raw=b"", headers={"Retry-After": str(self.interval)})
        return Reply(status, raw=b"")  # 400 pending (no body), 404, 409, 410, 418

    def _token(self, body: dict[str, Any]) -> Reply:
        received = time.monotonic()
        if self.refresh_delay:
            time.sleep(self.refresh_delay)
        reply = self._refresh(body)
        with self.lock:
            self.refreshes.append(
                Refresh(received, time.monotonic(), reply.status, str(body.get("refresh_token")))
            )
        return reply

    def _refresh(self, body: dict[str, Any]) -> Reply:
        if not self._client_ok(body, secret=True):
            return self._invalid_client()
        grant = body.get("grant_type")
        if grant != "refresh_token":
            return _oauth_error(
                400, "unsupported_grant_type", f"The grant type {grant!r} is not supported here."
            )
        if body.get("redirect_uri") != OOB_REDIRECT:
            self._problem(f"/oauth/token: redirect_uri {body.get('redirect_uri')!r}")
            return _oauth_error(400, "invalid_grant", INVALID_GRANT)
        with self.lock:
            old = str(body.get("refresh_token"))
            access = self.refresh_tokens.pop(old, None)
            if access is None:
                return _oauth_error(400, "invalid_grant", INVALID_GRANT)
            # Rotation: the old pair is dead the moment the new one exists.
            self.spent_refresh_tokens.add(old)
            self.access_tokens.discard(access)
            return Reply(200, self._token_response(self.token_users.get(access)))

    def _revoke(self, body: dict[str, Any]) -> Reply:
        if not self._client_ok(body, secret=True):
            return self._invalid_client()
        token = str(body.get("token"))
        with self.lock:
            self.revoked.append(token)
            self.access_tokens.discard(token)
            for refresh, access in list(self.refresh_tokens.items()):
                if access == token:
                    del self.refresh_tokens[refresh]
        return Reply(200, {})

    # -- API host ----------------------------------------------------------------------------
    def _authorize(self, request: Request) -> Reply | None:
        """401 unless the Trakt headers and a current Bearer token are all there."""
        headers = request.headers
        scheme, _, token = headers.get("authorization", "").partition(" ")
        missing = []
        if headers.get("trakt-api-version") != "2":
            missing.append("trakt-api-version: 2")
        if headers.get("trakt-api-key") != self.client_id:
            missing.append("trakt-api-key")
        if not headers.get("user-agent"):
            missing.append("User-Agent")
        with self.lock:
            token_ok = scheme == "Bearer" and token in self.access_tokens
        if not token_ok:
            missing.append("Authorization: Bearer <current access token>")
        if missing:
            return _oauth_error(
                401, "invalid_token", "OAuth must be provided: " + ", ".join(missing)
            )
        return None

    def _settings(self, request: Request) -> Reply:
        refused = self._authorize(request)
        if refused is not None:
            return refused
        return Reply(
            200,
            {
                "user": {
                    "username": self.username,
                    "private": False,
                    "name": self.username.title(),
                    "vip": True,
                    "vip_ep": False,
                    "ids": {"slug": self.username},
                    "joined_at": "2014-09-01T09:10:11.000Z",
                    "location": "",
                    "about": "",
                    "gender": "",
                    "age": None,
                    "images": {"avatar": {"full": ""}},
                },
                "account": {
                    "timezone": "UTC",
                    "date_format": "mdy",
                    "time_24hr": True,
                    "cover_image": None,
                },
                "connections": {"facebook": False, "twitter": False, "slack": False},
                "sharing_text": {"watching": "", "watched": "", "rated": ""},
            },
        )

    # -- sync and scrobble -------------------------------------------------------------------
    def refuse(self, request: Request, at: float) -> Reply | None:
        """AUTHED_API_POST_LIMIT: 1 POST a second per user (the token's)."""
        if request.method != "POST" or request.path.startswith("/oauth/"):
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self.lock:
            if scheme != "Bearer" or token not in self.access_tokens:
                return None  # not authenticated: the handler answers 401
            user = self.token_users.get(token, self.username)
            last = self._last_post.get(user)
            if last is None or at - last >= self.post_interval - self.post_slack:
                self._last_post[user] = at
                return None
            self.throttled.append(at)  # refused, so not counted against the next one
        wait = max(1, math.ceil(self.post_interval - (at - last)))
        limit = {
            "name": "AUTHED_API_POST_LIMIT",
            "period": self.post_interval,
            "limit": 1,
            "remaining": 0,
            "until": iso(time.time() + wait),
        }
        return Reply(
            429,
            raw=b"",
            headers={
                "Content-Type": "text/plain",
                "Retry-After": str(wait),
                "X-Ratelimit": json.dumps(limit),
            },
        )

    def _unknown(self, item: dict[str, Any]) -> bool:
        ids = item.get("ids")
        if not isinstance(ids, dict) or not ids:
            return not item.get("title")  # title + year is the fallback match
        return any((str(k), str(v)) in self.unknown_ids for k, v in ids.items())

    def _watched(self, value: Any, now: float) -> tuple[str, float | None] | None:
        """(watched_at as stored, unix seconds); None when the value is not a valid time."""
        if value is None:
            return iso(now), now
        if value == "unknown":
            return "unknown", None
        if value == "released":  # release date + runtime: the fake has no catalogue
            return iso(now), now
        ts = parse_time(value)
        return None if ts is None else (iso(ts), ts)

    def _add_play(self, watched: tuple[str, float | None], kind: str, **media: Any) -> None:
        """Caller holds self.lock."""
        history_id = self._next_history_id
        self._next_history_id += 1
        entry = {"id": history_id, "watched_at": watched[0], "action": "watch", "type": kind}
        entry.update(media)
        self.plays.append(Play(history_id, watched[1], entry, time.monotonic()))

    def _add_history(self, request: Request) -> Reply:
        body = self._json_body(request)
        if body is None:
            return Reply(400, {"error": "bad_request", "message": "the body is not JSON"})
        for key in body:
            if key not in HISTORY_TYPES:
                self._problem(f"POST /sync/history: unknown key {key!r}")
        now = time.time()
        added = {"movies": 0, "episodes": 0}
        not_found: dict[str, list[Any]] = {k: [] for k in HISTORY_TYPES}
        with self.lock:
            for movie in objects(body.get("movies")):
                watched = self._watched(movie.get("watched_at"), now)
                if watched is None:
                    return Reply(400, {"error": "bad_request", "message": "invalid watched_at"})
                if self._unknown(movie):
                    not_found["movies"].append(movie)
                    continue
                media = {k: movie[k] for k in ("title", "year") if k in movie}
                self._add_play(watched, "movie", movie={**media, "ids": movie.get("ids") or {}})
                added["movies"] += 1
            for episode in objects(body.get("episodes")):
                watched = self._watched(episode.get("watched_at"), now)
                if watched is None:
                    return Reply(400, {"error": "bad_request", "message": "invalid watched_at"})
                if not episode.get("ids") or self._unknown(episode):
                    not_found["episodes"].append(episode)
                    continue
                self._add_play(
                    watched,
                    "episode",
                    episode={"season": None, "number": None, "ids": episode["ids"]},
                    show={"title": None, "ids": {}},
                )
                added["episodes"] += 1
            for show in objects(body.get("shows")):
                if self._unknown(show):
                    not_found["shows"].append(show)
                    continue
                seasons = objects(show.get("seasons"))
                if not seasons:
                    # A show alone means all its episodes: the fake has no catalogue.
                    self._problem("POST /sync/history: a show without seasons (every episode)")
                    not_found["shows"].append(show)
                    continue
                show_media = {
                    "title": show.get("title"),
                    "year": show.get("year"),
                    "ids": show.get("ids") or {},
                }
                for season in seasons:
                    episodes = objects(season.get("episodes"))
                    if not episodes:
                        self._problem("POST /sync/history: a season without episodes")
                        not_found["seasons"].append(season)
                        continue
                    for episode in episodes:
                        raw = episode.get(
                            "watched_at", season.get("watched_at", show.get("watched_at"))
                        )
                        watched = self._watched(raw, now)
                        if watched is None:
                            return Reply(
                                400, {"error": "bad_request", "message": "invalid watched_at"}
                            )
                        self._add_play(
                            watched,
                            "episode",
                            episode={
                                "season": season.get("number"),
                                "number": episode.get("number"),
                                "title": None,
                                "ids": {},
                            },
                            show=show_media,
                        )
                        added["episodes"] += 1
            for season in objects(body.get("seasons")):
                self._problem("POST /sync/history: seasons[] needs a catalogue the fake lacks")
                not_found["seasons"].append(season)
        return Reply(201, {"added": added, "not_found": not_found})

    def _remove_history(self, request: Request) -> Reply:
        body = self._json_body(request)
        if body is None:
            return Reply(400, {"error": "bad_request", "message": "the body is not JSON"})
        deleted = {"movies": 0, "episodes": 0}
        not_found: dict[str, list[Any]] = {k: [] for k in (*HISTORY_TYPES, "ids")}

        def take(matches: list[Play]) -> None:
            for play in matches:
                self.plays.remove(play)
                self.removed.append(play)
                deleted[play.entry["type"] + "s"] += 1

        def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
            return any(str(a[k]) == str(b[k]) for k in a.keys() & b.keys() if a[k] is not None)

        with self.lock:
            raw_ids = body.get("ids")
            for history_id in raw_ids if isinstance(raw_ids, list) else []:
                matches = [p for p in self.plays if p.id == history_id]
                if not matches:
                    not_found["ids"].append(history_id)
                take(matches)
            for kind in ("movies", "episodes"):
                for item in objects(body.get(kind)):
                    ids = item.get("ids") or {}
                    matches = [
                        p
                        for p in self.plays
                        if p.entry["type"] + "s" == kind
                        and same(ids, p.entry[kind[:-1]].get("ids") or {})
                    ]
                    if not matches:
                        not_found[kind].append(item)
                    take(matches)
            for show in objects(body.get("shows")):
                wanted = {
                    (season.get("number"), episode.get("number"))
                    for season in objects(show.get("seasons"))
                    for episode in objects(season.get("episodes"))
                }
                matches = [
                    p
                    for p in self.plays
                    if p.entry["type"] == "episode"
                    and same(show.get("ids") or {}, p.entry["show"].get("ids") or {})
                    and (p.entry["episode"]["season"], p.entry["episode"]["number"]) in wanted
                ]
                if not matches:
                    not_found["shows"].append(show)
                take(matches)
        return Reply(200, {"deleted": deleted, "not_found": not_found})

    def _get_history(self, request: Request) -> Reply:
        query = {k: v[0] for k, v in request.query.items()}
        try:
            page = int(query.get("page", "1"))
            limit = int(query.get("limit", str(DEFAULT_PAGE_LIMIT)))
        except ValueError:
            return Reply(400, {"error": "bad_request", "message": "page and limit are numbers"})
        if page < 1 or limit < 1:
            return Reply(400, {"error": "bad_request", "message": "page and limit start at 1"})
        limit = min(limit, MAX_PAGE_LIMIT)
        bounds = []
        for name in ("start_at", "end_at"):
            value = query.get(name)
            ts = parse_time(value) if value is not None else None
            if value is not None and ts is None:
                return Reply(400, {"error": "bad_request", "message": f"invalid {name}"})
            bounds.append(ts)
        start, end = bounds
        kind = {"/sync/history/movies": "movie", "/sync/history/episodes": "episode"}.get(
            request.path
        )
        with self.lock:
            chosen = [
                p
                for p in self.plays
                if (kind is None or p.entry["type"] == kind)
                and (start is None or (p.watched_ts is not None and p.watched_ts >= start))
                and (end is None or (p.watched_ts is not None and p.watched_ts <= end))
            ]
        chosen.sort(key=lambda p: (p.watched_ts or 0, p.id), reverse=True)
        pages = max(1, math.ceil(len(chosen) / limit))
        items = [dict(p.entry) for p in chosen[(page - 1) * limit : page * limit]]
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(pages),
            "X-Pagination-Item-Count": str(len(chosen)),
        }
        return Reply(200, items, headers)

    def _scrobble(self, request: Request) -> Reply:
        body = self._json_body(request)
        if body is None:
            return Reply(400, {"error": "bad_request", "message": "the body is not JSON"})
        action = request.path.rsplit("/", 1)[1]
        progress = body.get("progress")
        if isinstance(progress, bool) or not isinstance(progress, int | float):
            return Reply(422, {"error": "unprocessable", "message": "progress is required"})
        if not 0 <= progress <= 100:
            return Reply(422, {"error": "unprocessable", "message": "progress is 0 to 100"})
        movie, episode, show = body.get("movie"), body.get("episode"), body.get("show")
        if isinstance(movie, dict) == isinstance(episode, dict):
            return Reply(400, {"error": "bad_request", "message": "one movie or one episode"})
        items = [i for i in (movie, episode, show) if isinstance(i, dict)]
        if any(self._unknown(i) for i in items if i is not episode or show is None):
            return Reply(404, raw=b"", headers={"Content-Type": "text/plain"})
        if action == "stop" and progress < 1:
            return Reply(422, {"error": "unprocessable", "message": "progress below 1 %"})
        answered = action
        if action == "stop":
            answered = "scrobble" if progress > 80 else "pause"
        history_id = 0
        with self.lock:
            if answered == "scrobble":
                history_id = self._next_history_id
                now = time.time()
                if movie is not None:
                    self._add_play((iso(now), now), "movie", movie=movie)
                else:
                    self._add_play((iso(now), now), "episode", episode=episode, show=show or {})
                self.plays[-1].entry["action"] = "scrobble"
            self.scrobbles.append({**body, "action": answered})
        reply: dict[str, Any] = {
            "id": history_id,
            "action": answered,
            "progress": progress,
            "sharing": {"twitter": False, "mastodon": False, "tumblr": False},
        }
        if movie is not None:
            reply["movie"] = movie
        else:
            reply["episode"] = episode
            reply["show"] = show or {}
        return Reply(201, reply)

    def _get_ratings(self, request: Request) -> Reply:
        kind = {"movies": "movie", "episodes": "episode", "shows": "show", "seasons": "season"}[
            request.path.rsplit("/", 1)[1]
        ]
        with self.lock:
            chosen = [dict(r) for r in self.ratings if r.get("type") == kind]
        chosen.sort(key=lambda r: parse_time(r.get("rated_at")) or 0, reverse=True)
        query = {k: v[0] for k, v in request.query.items()}
        if self.forced_ratings_limit is None and "page" not in query and "limit" not in query:
            return Reply(200, chosen)  # "pagination optional": everything at once
        try:
            page = int(query.get("page", "1"))
            limit = int(query.get("limit", str(DEFAULT_PAGE_LIMIT)))
        except ValueError:
            return Reply(400, {"error": "bad_request", "message": "page and limit are numbers"})
        if page < 1 or limit < 1:
            return Reply(400, {"error": "bad_request", "message": "page and limit start at 1"})
        limit = self.forced_ratings_limit or min(limit, MAX_PAGE_LIMIT)
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(max(1, math.ceil(len(chosen) / limit))),
            "X-Pagination-Item-Count": str(len(chosen)),
        }
        return Reply(200, chosen[(page - 1) * limit : page * limit], headers)

    def _add_ratings(self, request: Request) -> Reply:
        """POST /sync/ratings (trakt/trakt-api contracts/sync/index.ts, ratingsParamSchema.ts:
        `movies`, `shows`, `seasons`, `episodes`, each item `ids`, `rating` 1-10 and optional
        `rated_at`; ratingsResponseSchema.ts l.5-13: 201 `added` counts and `not_found` lists).
        Rating an item again replaces its rating, as listed by GET /sync/ratings/{type}."""
        body = self._json_body(request)
        if body is None:
            return Reply(400, {"error": "bad_request", "message": "the body is not JSON"})
        added = {k: 0 for k in HISTORY_TYPES}
        not_found: dict[str, list[Any]] = {k: [] for k in HISTORY_TYPES}
        with self.lock:
            for kind in HISTORY_TYPES:
                for item in objects(body.get(kind)):
                    rating = item.get("rating")
                    if isinstance(rating, bool) or not isinstance(rating, int):
                        return Reply(422, {"error": "unprocessable", "message": "rating 1-10"})
                    if not 1 <= rating <= 10:
                        return Reply(422, {"error": "unprocessable", "message": "rating 1-10"})
                    if not item.get("ids") or self._unknown(item):
                        not_found[kind].append(item)
                        continue
                    one = kind[:-1]
                    ids = {str(k): str(v) for k, v in item["ids"].items()}
                    self.ratings = [
                        r
                        for r in self.ratings
                        if not (
                            r.get("type") == one
                            and ids.items()
                            & {str(k): str(v) for k, v in r[one]["ids"].items()}.items()
                        )
                    ]
                    media = {k: item[k] for k in ("title", "year") if k in item}
                    self.ratings.append(
                        {
                            "rated_at": item.get("rated_at") or iso(time.time()),
                            "rating": rating,
                            "type": one,
                            one: {**media, "ids": item["ids"]},
                        }
                    )
                    added[kind] += 1
        return Reply(201, {"added": added, "not_found": not_found})

    def add_watched(self, kind: str, watched_ts: float, **media: Any) -> None:
        """A play already on the account (another app sent it), as GET /sync/history lists it."""
        with self.lock:
            self._add_play((iso(watched_ts), watched_ts), kind, **media)
