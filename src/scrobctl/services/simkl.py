"""Simkl API client (api-notes sections 9-10): PIN login, identification on every call, errors.

Every request carries `client_id`, `app-name` and `app-version` as query parameters (required
since 2026) besides the User-Agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx
from pydantic import BaseModel, PrivateAttr, ValidationError

from scrobctl import __version__
from scrobctl.errors import InvalidToken, ServiceError, ServiceUnavailable, login_hint
from scrobctl.http import (
    MAX_ANSWER_BYTES,
    ServiceLimiter,
    account_name,
    json_body,
    raise_for_status,
    transmit,
)
from scrobctl.services import counts

SERVICE = "simkl"
APP_NAME = "scrobctl"
APP_HELP = "create an app at https://simkl.com/settings/developer/ and use its client id"
IDS = ("simkl", "imdb", "tmdb", "tvdb")  # the ids Simkl matches an item by
# `/sync/all-items` with `extended=full` is a whole library in one answer; everything else is
# small (issue #16: answers are read up to a limit per endpoint).
ALL_ITEMS_MAX_BYTES = 128 * 1024 * 1024


class PinCode(BaseModel):
    user_code: str
    verification_url: str = "https://simkl.com/pin"
    expires_in: int = 900
    interval: int = 5


class Pin(Enum):
    PENDING = "pending"
    SLOW_DOWN = "slow down"  # {"result": "KO", "message": "Slow down"} (apiary.apib l.441-446)
    GONE = "gone"  # the code was used or expired: Simkl answers with a fresh code instead


@dataclass(frozen=True)
class Account:
    name: str


def _error_id(response: httpx.Response) -> str | None:
    body = json_body(response)
    return body.get("error") if isinstance(body, dict) else None


class SimklClient:
    def __init__(
        self,
        api_url: str,
        client_id: str,
        http: httpx.AsyncClient,
        limiter: ServiceLimiter,
        token: str | None = None,
        profile: str = "default",
    ) -> None:
        self._base = api_url.rstrip("/")
        self._client_id = client_id
        self._http = http
        self._limiter = limiter
        self._token = token
        self._hint = login_hint(SERVICE, profile)

    def _params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "client_id": self._client_id,
            "app-name": APP_NAME,
            "app-version": __version__,
            **(extra or {}),
        }

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if method == "POST" else {}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        params = self._params(kwargs.pop("params", None))
        request = self._http.build_request(
            method, self._base + path, params=params, headers=headers, **kwargs
        )
        limit = ALL_ITEMS_MAX_BYTES if path.startswith("/sync/all-items") else MAX_ANSWER_BYTES
        response = await transmit(self._http, self._limiter, request, max_bytes=limit)
        if response.status_code == 412 or _error_id(response) == "client_id_failed":
            raise ServiceError(SERVICE, "Simkl refused the client id", APP_HELP)
        if response.status_code == 401 and self._token:
            raise InvalidToken(SERVICE, "Simkl refused the token (revoked?)", self._hint)
        raise_for_status(SERVICE, response, login_hint=self._hint, now=self._limiter.clock.now())
        return response

    async def pin_code(self) -> PinCode:
        response = await self.request("GET", "/oauth/pin")
        try:
            return PinCode.model_validate(json_body(response))
        except ValidationError:
            raise ServiceUnavailable(SERVICE, "/oauth/pin gave an unexpected answer") from None

    async def poll_pin(self, user_code: str) -> str | Pin:
        """The access token once approved. A reply carrying `device_code` means the code is gone:
        Simkl deletes a used code and answers an unknown one by making a new code."""
        response = await self.request("GET", f"/oauth/pin/{user_code}")
        body = json_body(response)
        if not isinstance(body, dict):
            raise ServiceUnavailable(SERVICE, "the PIN poll gave an unexpected answer")
        if body.get("result") == "OK" and isinstance(body.get("access_token"), str):
            return body["access_token"]
        if "device_code" in body or "user_code" in body:
            return Pin.GONE
        if body.get("message") == "Slow down":
            return Pin.SLOW_DOWN
        return Pin.PENDING

    async def account(self) -> Account:
        """The user's name, from `POST /users/settings` (Simkl's "receive settings")."""
        response = await self.request("POST", "/users/settings", json={})
        return Account(account_name(SERVICE, "/users/settings", json_body(response), "name"))


def iso(ts: int | float) -> str:
    """Simkl's UTC ISO-8601 form with Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HistoryResult(BaseModel):
    """`POST /sync/history` and `/sync/ratings`: what was added, and the input objects Simkl
    could not match (unresolved anime land in `not_found.shows`). Both keys are required
    (SIMKL/API apiary.apib, "Add Items to the history" l.4697-4830 and "Add Ratings"
    l.5214-5350): a `200 {}` or a maintenance message is not Simkl's answer."""

    added: dict[str, Any]
    not_found: dict[str, list[dict[str, Any]]]
    _path: str = PrivateAttr(default="/sync/history")  # which of the two answered

    def stored(self, kind: str) -> int | None:
        count = self.added.get(kind, 0)
        return count if isinstance(count, int) and not isinstance(count, bool) else None


def check_counts(result: HistoryResult, sent: dict[str, int]) -> None:
    """Every play not listed as not found must be counted as added. The apiary shows
    `added.movies` counting movies; `added.episodes` counting each episode sent with its own
    `watched_at` is our reading (its examples add whole shows). A count that does not add up is
    retried (services/counts.py)."""
    counts.check_counts(SERVICE, result._path, result, sent)


def _result(response: httpx.Response, path: str) -> HistoryResult:
    """Only a JSON object counts as an answer: a 2xx with HTML or a cut-off body may not have
    recorded anything, so the plays must not be marked sent."""
    body = json_body(response)
    if not isinstance(body, dict):
        raise ServiceUnavailable(SERVICE, f"{path} gave an unexpected answer")
    try:
        result = HistoryResult.model_validate(body)
    except ValidationError:
        raise ServiceUnavailable(SERVICE, f"{path} gave an unexpected answer") from None
    result._path = path
    return result


def is_null(response: httpx.Response) -> bool:
    """Simkl answers "nothing" with a literal JSON null (api-notes 10.1)."""
    return response.content.strip() == b"null"


async def add_history(client: SimklClient, body: dict[str, list[dict[str, Any]]]) -> HistoryResult:
    response = await client.request("POST", "/sync/history", json=body)
    return _result(response, "/sync/history")


async def scrobble_start(client: SimklClient, item: dict[str, Any], progress: float) -> None:
    """Progress with at most two decimals (api-notes 10.2)."""
    await client.request("POST", "/scrobble/start", json={**item, "progress": round(progress, 2)})


async def _get(client: SimklClient, path: str, params: dict[str, str] | None = None) -> Any:
    """The body: a dict, or None for Simkl's literal null; anything else is an error."""
    response = await client.request("GET", path, params=params or {})
    if is_null(response):
        return None
    body = json_body(response)
    if not isinstance(body, dict):
        raise ServiceUnavailable(SERVICE, f"{path} gave an unexpected answer")
    return body


async def activities(client: SimklClient) -> dict[str, Any]:
    """`GET /sync/activities`: the cheap gate Simkl requires before any all-items call."""
    body = await _get(client, "/sync/activities")
    if not isinstance(body, dict):
        raise ServiceUnavailable(SERVICE, "/sync/activities gave an unexpected answer")
    return body


async def all_items(client: SimklClient, kind: str, since: int | None = None) -> list[Any]:
    """`/sync/all-items/{kind}` (changed since `since`, a `date_from` delta as Simkl asks,
    api-notes 10.1) with per-episode watched_at; `null` means none.

    Without `extended=full` a show is a summary with no `seasons` at all, and
    `episode_watched_at=yes` adds the times to those episodes (SIMKL/API apiary.apib "Get All
    Items", l.4293-4299 and l.3960-3963; api-notes corrections item 7)."""
    params = {"episode_watched_at": "yes", "extended": "full"}
    if since is not None:
        params["date_from"] = iso(since)
    path = f"/sync/all-items/{kind}"
    body = await _get(client, path, params)
    entries = (body or {}).get(kind)
    if entries is not None and not isinstance(entries, list):
        raise ServiceUnavailable(SERVICE, f"{path}: not a list")
    return entries or []


@dataclass(frozen=True)
class Watched:
    """One all-items entry, as a sender compares it with a play."""

    movie_ids: dict[str, Any]
    show_ids: dict[str, Any]
    last_watched_at: int | None
    episodes: dict[tuple[Any, Any], int | None]  # (season, number): watched_at, first wins


def _ts(value: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def watched(entry: dict[str, Any]) -> Watched:
    episodes: dict[tuple[Any, Any], int | None] = {}
    for season in entry.get("seasons") or []:
        for episode in season.get("episodes") or []:
            key = (season.get("number"), episode.get("number"))
            if key not in episodes:
                episodes[key] = _ts(episode.get("watched_at"))
    return Watched(
        movie_ids=(entry.get("movie") or {}).get("ids") or {},
        show_ids=(entry.get("show") or {}).get("ids") or {},
        last_watched_at=_ts(entry.get("last_watched_at")),
        episodes=episodes,
    )


async def items_since(client: SimklClient, kind: str, since: int) -> list[Watched]:
    """What changed in `kind` since `since`, to look a play up before it is sent again."""
    return [watched(e) for e in await all_items(client, kind, since) if isinstance(e, dict)]


async def add_ratings(client: SimklClient, body: dict[str, list[dict[str, Any]]]) -> HistoryResult:
    """Integers 1-10 only: Simkl silently ignores anything else (api-notes 10.3)."""
    response = await client.request("POST", "/sync/ratings", json=body)
    return _result(response, "/sync/ratings")


class RemoveResult(BaseModel):
    """`POST /sync/history/remove`: `deleted: {movies, shows, episodes}` and `not_found:
    {movies, shows}` (api-notes 10.2). SIMKL/API apiary.apib (a1cabfd, l.5032-5105) shows the
    request only, with an empty 200 body; without `deleted` nothing says the play is gone, so
    such an answer is an error, never a silent success."""

    deleted: dict[str, int]
    not_found: dict[str, list[dict[str, Any]]] = {}


async def remove_history(
    client: SimklClient, body: dict[str, list[dict[str, Any]]]
) -> RemoveResult:
    """Unmark movies or episodes. Simkl addresses an item, not a single play."""
    response = await client.request("POST", "/sync/history/remove", json=body)
    answer = json_body(response)
    try:
        return RemoveResult.model_validate(answer)
    except ValidationError:
        raise ServiceUnavailable(
            SERVICE, "/sync/history/remove answered without the `deleted` counts"
        ) from None
