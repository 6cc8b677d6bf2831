"""Last.fm API 2.0 client (api-notes part A): request signing, desktop auth, error codes.

Last.fm's HTTP status is not reliable (a 200 can carry an error, a 403 can mean "not yet
authorised"), so every answer is decided from the JSON body's `error` code first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from scrobctl.errors import (
    AccountProblem,
    BadRequest,
    InvalidToken,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    login_hint,
)
from scrobctl.http import ServiceLimiter, account_name, describe, json_body, retry_after, transmit
from scrobctl.kinds import KINDS

SERVICE = "lastfm"
UNSIGNED_PARAMS = frozenset({"format", "callback", "api_sig"})

# Error codes (api-notes A.8).
AUTH_FAILED = 4
INVALID_SESSION = 9
INVALID_API_KEY = 10
TEMPORARY = frozenset({8, 11, 16})
SIGNATURE_INVALID = 13
TOKEN_NOT_AUTHORIZED = 14
TOKEN_EXPIRED = 15
SUSPENDED_KEY = 26
RATE_LIMITED = 29
RATE_LIMIT_WAIT = 300.0  # "back off for minutes" (A.8); Last.fm sends no Retry-After


class LastfmError(ServiceError):
    """An error answer from Last.fm, with its numeric code."""

    def __init__(self, code: int, message: str, hint: str | None = None) -> None:
        super().__init__(SERVICE, f"error {code}: {message}", hint)
        self.code = code


class LastfmUnavailable(ServiceUnavailable):
    """A temporary error code (8, 11, 16): worth retrying later."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(SERVICE, f"error {code}: {message}", "it will be retried later")
        self.code = code


class LastfmAccountError(AccountProblem):
    """The API account is unusable (invalid or suspended key, wrong secret)."""

    def __init__(self, code: int, message: str, hint: str) -> None:
        super().__init__(SERVICE, f"error {code}: {message}", hint)
        self.code = code


class TokenNotAuthorized(LastfmError):
    """auth.getSession before the user approved the token (error 14): keep polling."""


class TokenExpired(LastfmError):
    """The desktop auth token expired (error 15): start over with a new one."""


def api_sig(params: Mapping[str, str], secret: str) -> str:
    """md5 of the sorted `name+value` pairs (not URL-encoded) plus the secret (authspec §8)."""
    text = "".join(name + params[name] for name in sorted(params) if name not in UNSIGNED_PARAMS)
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


def error_for(code: int, message: str, profile: str = "default") -> ServiceError:
    """The typed error for a Last.fm error code."""
    if code == INVALID_SESSION:
        return InvalidToken(SERVICE, f"error 9: {message}", login_hint(SERVICE, profile))
    if code == TOKEN_NOT_AUTHORIZED:
        return TokenNotAuthorized(code, message)
    if code == TOKEN_EXPIRED:
        return TokenExpired(code, message, "run the login again")
    if code in TEMPORARY:
        return LastfmUnavailable(code, message)
    if code == RATE_LIMITED:
        return RateLimited(SERVICE, RATE_LIMIT_WAIT, f"error 29: {message}")
    if code in (INVALID_API_KEY, SUSPENDED_KEY):
        return LastfmAccountError(
            code, message, "check SCROBCTL_LASTFM__API_KEY, or run `scrobctl login lastfm` again"
        )
    if code == AUTH_FAILED:
        return LastfmError(code, message, "run `scrobctl login lastfm` again")
    if code == SIGNATURE_INVALID:
        return LastfmAccountError(code, message, "check SCROBCTL_LASTFM__API_SECRET")
    return BadRequest(SERVICE, f"error {code}: {message}")


@dataclass(frozen=True)
class Session:
    name: str
    key: str


class LastfmClient:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        api_secret: str,
        http: httpx.AsyncClient,
        limiter: ServiceLimiter,
        session_key: str | None = None,
        profile: str = "default",
    ) -> None:
        self._url = api_url
        self._key = api_key
        self._secret = api_secret
        self._http = http
        self._limiter = limiter
        self._session_key = session_key
        self._profile = profile

    def signed_params(self, method: str, params: Mapping[str, str]) -> dict[str, str]:
        """The exact parameters to send: what was signed, plus api_sig and format."""
        full = {**params, "method": method, "api_key": self._key}
        if self._session_key is not None:
            full["sk"] = self._session_key
        full["api_sig"] = api_sig(full, self._secret)
        full["format"] = "json"
        return full

    async def call(
        self, method: str, params: Mapping[str, str] | None = None, *, signed: bool, post: bool
    ) -> dict[str, Any]:
        """One API call; returns the JSON body or raises the typed error for its code."""
        values = dict(params or {})
        if signed:
            body = self.signed_params(method, values)
        else:
            body = {**values, "method": method, "api_key": self._key, "format": "json"}
        if post:
            request = self._http.build_request(
                "POST",
                self._url,
                content=urlencode(body).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
        else:
            request = self._http.build_request("GET", self._url, params=body)
        response = await transmit(self._http, self._limiter, request)
        data = json_body(response)
        if isinstance(data, dict) and "error" in data:
            try:
                code = int(data["error"])
            except (TypeError, ValueError):
                code = -1
            error = error_for(code, str(data.get("message", ""))[:200], self._profile)
            if isinstance(error, RateLimited):
                wait = retry_after(response.headers, self._limiter.clock.now())
                error.retry_after = error.retry_after if wait is None else wait
            raise error
        if response.status_code == 429:
            wait = retry_after(response.headers, self._limiter.clock.now())
            raise RateLimited(SERVICE, RATE_LIMIT_WAIT if wait is None else wait)
        if response.status_code >= 500:
            raise ServiceUnavailable(SERVICE, describe(response), "it will be retried later")
        if response.status_code >= 400 or not isinstance(data, dict):
            raise ServiceUnavailable(SERVICE, f"unexpected answer ({describe(response)})")
        return data

    async def get_token(self) -> str:
        """A desktop auth token: unauthorised, valid 60 minutes, usable once."""
        data = await self.call("auth.getToken", signed=True, post=False)
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ServiceUnavailable(SERVICE, "auth.getToken answered without a token")
        return token

    def auth_url(self, auth_url: str, token: str) -> str:
        return f"{auth_url}?{urlencode({'api_key': self._key, 'token': token})}"

    async def get_session(self, token: str) -> Session:
        """The session key once the user approved `token`; TokenNotAuthorized until then."""
        data = await self.call("auth.getSession", {"token": token}, signed=True, post=False)
        session = data.get("session")
        if not isinstance(session, dict) or not session.get("key") or not session.get("name"):
            raise ServiceUnavailable(SERVICE, "auth.getSession answered without a session")
        return Session(name=str(session["name"]), key=str(session["key"]))


MAX_SCROBBLES_PER_REQUEST = 50
MAX_AGE: int = KINDS["lastfm"].max_age or 0  # older scrobbles are silently ignored (api-notes A.4)
IGNORED_DAILY_LIMIT = 5


@dataclass(frozen=True)
class Scrobble:
    artist: str
    track: str
    timestamp: int
    album: str | None = None
    duration_s: int | None = None
    mbid: str | None = None


@dataclass(frozen=True)
class Ignored:
    code: int
    message: str


def as_list(value: Any) -> list[Any]:
    """Last.fm's JSON is translated XML: one element comes back bare instead of in a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def scrobble_params(scrobbles: list[Scrobble]) -> dict[str, str]:
    """Indexed parameters `artist[i]`, `track[i]`, ... as strings, exactly what gets signed."""
    params: dict[str, str] = {}
    for i, s in enumerate(scrobbles):
        params[f"artist[{i}]"] = s.artist
        params[f"track[{i}]"] = s.track
        params[f"timestamp[{i}]"] = str(s.timestamp)
        if s.album:
            params[f"album[{i}]"] = s.album
        if s.duration_s:
            params[f"duration[{i}]"] = str(s.duration_s)
        if s.mbid:
            params[f"mbid[{i}]"] = s.mbid
    return params


async def scrobble(client: LastfmClient, scrobbles: list[Scrobble]) -> list[Ignored | None]:
    """Up to 50 scrobbles in one signed POST; for each, None when accepted or why it was ignored.

    Results map back by position: Last.fm answers in request order.
    """
    if not 1 <= len(scrobbles) <= MAX_SCROBBLES_PER_REQUEST:
        raise ValueError(f"a batch holds 1..{MAX_SCROBBLES_PER_REQUEST} scrobbles")
    data = await client.call("track.scrobble", scrobble_params(scrobbles), signed=True, post=True)
    return _judge(data, len(scrobbles))


def single_scrobble_params(s: Scrobble) -> dict[str, str]:
    """The unindexed form (`artist`, `track`, `timestamp`) of one scrobble. Maloja takes only
    this one: its indexed branch fails with error 8 (apis/audioscrobbler.py l.111-118 calls
    `self.scrobble` with the wrong arguments) and it ignores the album (l.110)."""
    return _with_details({"artist": s.artist, "track": s.track, "timestamp": str(s.timestamp)}, s)


def _with_details(params: dict[str, str], s: Scrobble) -> dict[str, str]:
    """`params` with the optional album, duration and MBID that track.scrobble and
    track.updateNowPlaying both take, under the same names."""
    if s.album:
        params["album"] = s.album
    if s.duration_s:
        params["duration"] = str(s.duration_s)
    if s.mbid:
        params["mbid"] = s.mbid
    return params


async def scrobble_one(client: LastfmClient, s: Scrobble) -> Ignored | None:
    """One scrobble in the single form: None when accepted, or why it was ignored."""
    data = await client.call("track.scrobble", single_scrobble_params(s), signed=True, post=True)
    return _judge(data, 1)[0]


def _judge(data: dict[str, Any], sent: int) -> list[Ignored | None]:
    """Per-play results from a track.scrobble answer. A server that answers only the counts
    (`{"scrobbles": {"@attr": {"ignored": 0}}}`, Maloja's audioscrobbler.py l.120) is judged by
    them where they decide every play; a reply with neither is an error, never a success."""
    scrobbles = data.get("scrobbles")
    if isinstance(scrobbles, dict) and "scrobble" not in scrobbles:
        return _judge_counts(scrobbles.get("@attr"), sent)
    try:
        items = as_list(data["scrobbles"]["scrobble"])
    except (KeyError, TypeError):
        raise ServiceUnavailable(SERVICE, "track.scrobble gave an unexpected answer") from None
    if len(items) != sent:
        raise ServiceUnavailable(SERVICE, "track.scrobble answered for a different number of plays")
    results: list[Ignored | None] = []
    for item in items:
        ignored = item.get("ignoredMessage") if isinstance(item, dict) else None
        try:
            code = int(ignored.get("code", 0)) if isinstance(ignored, dict) else 0
        except (TypeError, ValueError):
            code = -1
        text = str(ignored.get("#text", "")) if isinstance(ignored, dict) else ""
        results.append(None if code == 0 else Ignored(code, text))
    _check_tally(data["scrobbles"], results)
    return results


def _count(attr: dict[str, Any], key: str) -> int | None:
    try:
        return int(attr[key])
    except (KeyError, TypeError, ValueError):
        return None


def _judge_counts(attr: Any, sent: int) -> list[Ignored | None]:
    if not isinstance(attr, dict):
        raise ServiceUnavailable(SERVICE, "track.scrobble answered without a result")
    accepted, ignored = _count(attr, "accepted"), _count(attr, "ignored")
    if accepted is None and ignored is not None:
        accepted = sent - ignored
    if ignored is None and accepted is not None:
        ignored = sent - accepted
    if accepted is None or ignored is None or accepted + ignored != sent or accepted < 0:
        raise ServiceUnavailable(SERVICE, "track.scrobble answered counts that do not add up")
    if accepted == sent:
        return [None] * sent
    if ignored == sent:
        return [Ignored(-1, "ignored without a reason")] * sent
    raise ServiceUnavailable(
        SERVICE, f"track.scrobble said {accepted} accepted, {ignored} ignored, but not which"
    )


def _check_tally(scrobbles: dict[str, Any], results: list[Ignored | None]) -> None:
    """`@attr` says how many were accepted and ignored (api-notes A.3, the documented sample);
    it must agree with the entries, or the answer is not one we can trust with the plays.
    pylast (src/pylast/__init__.py l.610 `scrobble_many`) never reads it; we do."""
    attr = scrobbles.get("@attr")
    took = sum(1 for r in results if r is None)
    try:
        accepted = int(attr["accepted"])  # type: ignore[index]
        ignored = int(attr.get("ignored", len(results) - accepted))  # type: ignore[union-attr]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ServiceUnavailable(
            SERVICE, "track.scrobble answered without its accepted/ignored counts"
        ) from None
    if (accepted, ignored) != (took, len(results) - took):
        raise ServiceUnavailable(
            SERVICE,
            f"track.scrobble counted {accepted} accepted and {ignored} ignored, "
            f"but its entries say {took} and {len(results) - took}",
        )


async def update_now_playing(client: LastfmClient, s: Scrobble) -> None:
    params = _with_details({"artist": s.artist, "track": s.track}, s)
    data = await client.call("track.updateNowPlaying", params, signed=True, post=True)
    ignored = (
        (data.get("nowplaying") or {}).get("ignoredMessage") if isinstance(data, dict) else None
    )
    code = str(ignored.get("code", "0")) if isinstance(ignored, dict) else "0"
    if code != "0":
        text = str(ignored.get("#text", "")) if isinstance(ignored, dict) else ""
        raise BadRequest(SERVICE, f"ignored by Last.fm (code {code}{': ' + text if text else ''})")


async def love(client: LastfmClient, artist: str, track: str) -> None:
    """`track.love` (signed POST); Last.fm has no other rating."""
    await client.call("track.love", {"artist": artist, "track": track}, signed=True, post=True)


async def user_name(client: LastfmClient) -> str:
    """The session's user, from a signed `user.getInfo`."""
    data = await client.call("user.getInfo", signed=True, post=False)
    return account_name(SERVICE, "user.getInfo", data, "name")
