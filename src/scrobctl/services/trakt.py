"""Trakt API client (api-notes sections 0-7): device-code OAuth on the OAuth host, rotating
refresh tokens, required headers, and the status codes Trakt documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, StrictInt, ValidationError

from scrobctl.errors import (
    AccountProblem,
    InvalidToken,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    login_hint,
)
from scrobctl.http import (
    DEFAULT_RETRY_AFTER,
    MAX_ANSWER_BYTES,
    ServiceLimiter,
    account_name,
    describe,
    json_body,
    raise_for_status,
    retry_after,
    transmit,
)
from scrobctl.services import counts

SERVICE = "trakt"
API_VERSION = "2"
# Device-flow apps refresh with the out-of-band redirect URI (api-notes 2.2).
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
APP_HELP = (
    "create an API app at https://trakt.tv/oauth/applications (Trakt requires VIP for this "
    "since 2026-07), with redirect URI urn:ietf:wg:oauth:2.0:oob"
)

# Statuses with a message of their own (api-notes 7.2); they are not worth retrying.
ACCOUNT_ERRORS = {
    403: "Trakt refused the app (invalid client id, or an app deleted when its owner lost VIP)",
    420: "the Trakt account is over its limit (free accounts: upgrade to VIP, or trim history)",
    423: "the Trakt account is locked; contact Trakt support",
    426: "this needs Trakt VIP",
}


# The ids Trakt's request contracts accept for each item type; seasonIdsRequestSchema takes trakt
# or tvdb (its tmdb is typed a string: not sent), and an episode request likewise.
IDS: dict[str, tuple[str, ...]] = {
    "movie": ("trakt", "imdb", "tmdb"),
    "show": ("trakt", "tvdb", "imdb", "tmdb"),
    "season": ("trakt", "tvdb"),
    "episode": ("trakt", "tvdb"),
}

# GET /sync/ratings/{type} may answer every rating at once ("no limit", trakt/trakt-api#919);
# other answers are a page of at most 250 entries or a write's counts.
RATINGS_MAX_BYTES = 64 * 1024 * 1024


class DeviceCode(BaseModel):
    device_code: str
    user_code: str
    verification_url: str
    expires_in: int
    interval: int


class TokenSet(BaseModel):
    """A Trakt token response. Expiry is created_at + expires_in; never a fixed lifetime."""

    access_token: str
    refresh_token: str
    expires_in: int
    created_at: int
    token_type: str = "bearer"
    scope: str | None = None

    @property
    def expires_at(self) -> float:
        return float(self.created_at + self.expires_in)


class Poll(Enum):
    PENDING = "pending"  # 400
    SLOW_DOWN = "slow_down"  # 429
    INVALID = "invalid"  # 404
    USED = "used"  # 409
    EXPIRED = "expired"  # 410
    DENIED = "denied"  # 418


POLL_STATUS = {
    400: Poll.PENDING,
    404: Poll.INVALID,
    409: Poll.USED,
    410: Poll.EXPIRED,
    418: Poll.DENIED,
    429: Poll.SLOW_DOWN,
}


class RefreshFailed(InvalidToken):
    """Trakt refused the refresh token: only a new login helps."""


def _account_error(response: httpx.Response) -> ServiceError | None:
    message = ACCOUNT_ERRORS.get(response.status_code)
    if message is None:
        return None
    if response.status_code == 420 and response.headers.get("x-upgrade-url"):
        message += f" ({response.headers['x-upgrade-url']})"
    return AccountProblem(SERVICE, message, "fix it on trakt.tv, then `scrobctl status --check`")


def _model(model: type[BaseModel], response: httpx.Response) -> Any:
    try:
        return model.model_validate(json_body(response))
    except ValidationError:
        raise ServiceUnavailable(SERVICE, f"unexpected answer ({describe(response)})") from None


class TraktAuth:
    """The OAuth endpoints, on the OAuth host (`auth.trakt.tv` since 2026-07)."""

    def __init__(
        self,
        auth_url: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        limiter: ServiceLimiter,
        profile: str = "default",
    ) -> None:
        self._base = auth_url.rstrip("/")
        self._id = client_id
        self._secret = client_secret
        self._http = http
        self._limiter = limiter
        self._profile = profile

    def _post(self, path: str, body: dict[str, str]) -> httpx.Request:
        return self._http.build_request("POST", self._base + path, json=body)

    async def device_code(self) -> DeviceCode:
        response = await transmit(
            self._http, self._limiter, self._post("/oauth/device/code", {"client_id": self._id})
        )
        self._raise_for_app(response)
        return _model(DeviceCode, response)

    async def poll(self, device_code: str) -> TokenSet | Poll:
        """One poll: the tokens, or the documented state. The field is `code`, not RFC 8628's."""
        body = {"code": device_code, "client_id": self._id, "client_secret": self._secret}
        response = await transmit(
            self._http, self._limiter, self._post("/oauth/device/token", body)
        )
        if response.status_code == 200:
            return _model(TokenSet, response)
        state = POLL_STATUS.get(response.status_code)
        if state is not None:
            return state
        self._raise_for_app(response)
        raise ServiceUnavailable(SERVICE, f"device token poll failed ({describe(response)})")

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Exchange the single-use refresh token for a new pair; save both before using them."""
        body = {
            "refresh_token": refresh_token,
            "client_id": self._id,
            "client_secret": self._secret,
            "redirect_uri": OOB_REDIRECT,
            "grant_type": "refresh_token",
        }
        response = await transmit(self._http, self._limiter, self._post("/oauth/token", body))
        if response.status_code == 200:
            return _model(TokenSet, response)
        if response.status_code == 401 and _oauth_error(response) != "invalid_grant":
            # 401 `invalid_client`: the app's id or secret is wrong, which a new login does not
            # fix (api-notes corrections-2026-12 item 13; RFC 6749 section 5.2). The login
            # stays as it is; the error says to fix the app credentials.
            raise ServiceError(SERVICE, "Trakt refused the client id or secret", APP_HELP)
        if response.status_code in (400, 401):
            raise RefreshFailed(
                SERVICE,
                f"the refresh token was refused ({describe(response)})",
                login_hint(SERVICE, self._profile),
            )
        self._raise_for_app(response)
        raise ServiceUnavailable(SERVICE, f"token refresh failed ({describe(response)})")

    async def revoke(self, access_token: str) -> None:
        body = {"token": access_token, "client_id": self._id, "client_secret": self._secret}
        response = await transmit(self._http, self._limiter, self._post("/oauth/revoke", body))
        if response.status_code >= 400:
            raise ServiceError(SERVICE, f"revoking the token failed ({describe(response)})")

    def _raise_for_app(self, response: httpx.Response) -> None:
        error = _account_error(response)
        if error is not None:
            raise error
        if response.status_code == 401:
            raise ServiceError(SERVICE, "Trakt refused the client id or secret", APP_HELP)
        if response.status_code == 429:
            wait = retry_after(response.headers, self._limiter.clock.now())
            raise RateLimited(SERVICE, DEFAULT_RETRY_AFTER if wait is None else wait)
        if response.status_code >= 500:
            raise ServiceUnavailable(SERVICE, describe(response), "try again later")


def _oauth_error(response: httpx.Response) -> str | None:
    """The `error` code of an OAuth error answer (RFC 6749 section 5.2), if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


@dataclass(frozen=True)
class Account:
    username: str


class TraktClient:
    """The API host, with the headers Trakt requires on every call (api-notes 1)."""

    def __init__(
        self,
        api_url: str,
        client_id: str,
        access_token: str,
        http: httpx.AsyncClient,
        limiter: ServiceLimiter,
        profile: str = "default",
        *,
        refresh: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._refresh = refresh
        self._headers = {
            "Content-Type": "application/json",
            "trakt-api-version": API_VERSION,
            "trakt-api-key": client_id,
            "Authorization": f"Bearer {access_token}",
        }
        self._http = http
        self._limiter = limiter
        self._hint = login_hint(SERVICE, profile)

    @property
    def access_token(self) -> str:
        return self._headers["Authorization"].removeprefix("Bearer ")

    def use_token(self, access_token: str) -> None:
        self._headers["Authorization"] = f"Bearer {access_token}"

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call. With `refresh`, a 401 gets one token refresh and one more try before it
        means "reconnect required" (imports and `status --check` as well as `flush`)."""
        try:
            return await self._request(method, path, **kwargs)
        except InvalidToken:
            if self._refresh is None:
                raise
            self.use_token(await self._refresh(self.access_token))
            return await self._request(method, path, **kwargs)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = self._http.build_request(
            method, self._base + path, headers=self._headers, **kwargs
        )
        limit = RATINGS_MAX_BYTES if path.startswith("/sync/ratings") else MAX_ANSWER_BYTES
        response = await transmit(self._http, self._limiter, request, max_bytes=limit)
        error = _account_error(response)
        if error is not None:
            raise error
        raise_for_status(SERVICE, response, login_hint=self._hint, now=self._limiter.clock.now())
        return response

    async def account(self) -> Account:
        response = await self.request("GET", "/users/settings")
        return Account(account_name(SERVICE, "/users/settings", json_body(response), "username"))


def iso(ts: int | float) -> str:
    """Trakt's UTC ISO-8601 form, e.g. 2014-09-01T09:10:11.000Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HistoryResult(BaseModel):
    """`POST /sync/history`: counts added (and `updated`), and the input objects Trakt could not
    match. Both `added` and `not_found` are required: trakt/trakt-api
    projects/api/src/contracts/sync/schema/response/historyResponseSchema.ts l.5-9 (the answer
    of `add`, sync/index.ts l.216-245). A `200 {}` from a proxy or a maintenance page is not
    Trakt's answer and records nothing."""

    PATH: ClassVar[str] = "/sync/history"
    added: dict[str, StrictInt]
    updated: dict[str, StrictInt] = {}
    not_found: dict[str, list[dict[str, Any]]]

    def stored(self, kind: str) -> int:
        return self.added.get(kind, 0) + self.updated.get(kind, 0)


def check_counts(result: HistoryResult | RatingsResult, sent: dict[str, int]) -> None:
    """`added` (with `updated`) must count every play not listed as not found."""
    counts.check_counts(SERVICE, result.PATH, result, sent)


async def add_history(client: TraktClient, body: dict[str, list[dict[str, Any]]]) -> HistoryResult:
    """Add plays. Trakt does not de-duplicate item + watched_at: callers check first."""
    response = await client.request("POST", HistoryResult.PATH, json=body)
    return _model(HistoryResult, response)


@dataclass(frozen=True)
class ListPage:
    """One page of a paginated list answer: its entries as sent (the reader maps them), and
    the page and item counts from the `X-Pagination-*` headers."""

    entries: list[Any]
    pages: int
    total: int | None


def _pagination(headers: httpx.Headers) -> tuple[int, int | None]:
    try:
        pages = int(headers.get("x-pagination-page-count", "1"))
    except ValueError:
        pages = 1
    try:
        total = int(headers["x-pagination-item-count"])
    except (KeyError, ValueError):
        total = None
    return pages, total


async def _list_page(client: TraktClient, path: str, params: dict[str, Any]) -> ListPage:
    response = await client.request("GET", path, params=params)
    body = json_body(response)
    if not isinstance(body, list):
        raise ServiceUnavailable(SERVICE, f"{path} gave an unexpected answer")
    return ListPage(body, *_pagination(response.headers))


async def history_page(
    client: TraktClient, page: int, limit: int, end_at: int, start_at: int | None = None
) -> ListPage:
    """A page of `GET /sync/history` up to `end_at` (and from `start_at`)."""
    params: dict[str, Any] = {"page": page, "limit": limit, "end_at": iso(end_at)}
    if start_at is not None:
        params["start_at"] = iso(start_at)
    return await _list_page(client, "/sync/history", params)


async def ratings_page(client: TraktClient, kind: str, page: int, limit: int) -> ListPage:
    """A page of `GET /sync/ratings/{type}`. It is "pagination optional", but its query takes
    page/limit (trakt/trakt-api contracts/sync/index.ts l.379-380, pageQuerySchema): they are
    sent and X-Pagination-Page-Count followed, so a forced-pagination answer never truncates
    (api-notes corrections item 11, trakt/trakt-api#919)."""
    return await _list_page(client, f"/sync/ratings/{kind}", {"page": page, "limit": limit})


@dataclass(frozen=True)
class HistoryEntry:
    """One `/sync/history` entry, as a sender compares it with a play."""

    id: int | None  # the history id, which `remove_history` takes
    watched_at: float | None
    movie_ids: dict[str, Any]
    episode_ids: dict[str, Any]
    show_ids: dict[str, Any]
    season: Any
    number: Any


def parse_time(value: Any) -> float | None:
    """Trakt's ISO-8601 times (`...Z`) to Unix seconds; None for anything else."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def history_entry(raw: dict[str, Any]) -> HistoryEntry:
    episode = raw.get("episode") or {}
    history_id = raw.get("id")
    return HistoryEntry(
        id=history_id if isinstance(history_id, int) else None,
        watched_at=parse_time(raw["watched_at"])
        if isinstance(raw.get("watched_at"), str)
        else None,
        movie_ids=(raw.get("movie") or {}).get("ids") or {},
        episode_ids=episode.get("ids") or {},
        show_ids=(raw.get("show") or {}).get("ids") or {},
        season=episode.get("season"),
        number=episode.get("number"),
    )


async def history_between(
    client: TraktClient, start: int, end: int, limit: int = 250
) -> list[HistoryEntry]:
    """Every history entry watched in [start, end], all pages, with an explicit limit on each
    page (Trakt clamps to 250 since 2026-06 and defaults differ between endpoints)."""
    entries: list[HistoryEntry] = []
    page = 1
    while True:
        params = {"start_at": iso(start), "end_at": iso(end), "page": page, "limit": limit}
        found = await _list_page(client, "/sync/history", params)
        entries.extend(history_entry(e) for e in found.entries if isinstance(e, dict))
        if page >= found.pages or not found.entries:
            return entries
        page += 1


async def scrobble_start(client: TraktClient, item: dict[str, Any], progress: float) -> None:
    await client.request("POST", "/scrobble/start", json={**item, "progress": progress})


class RatingsResult(BaseModel):
    """`POST /sync/ratings` (201): counts added, and the items Trakt could not match; both
    required (trakt/trakt-api .../sync/schema/response/ratingsResponseSchema.ts l.5-13)."""

    PATH: ClassVar[str] = "/sync/ratings"
    added: dict[str, StrictInt]
    not_found: dict[str, list[dict[str, Any]]]

    def stored(self, kind: str) -> int:
        return self.added.get(kind, 0)


async def add_ratings(client: TraktClient, body: dict[str, list[dict[str, Any]]]) -> RatingsResult:
    """Ratings are integers 1-10; re-rating overwrites (api-notes 5)."""
    response = await client.request("POST", RatingsResult.PATH, json=body)
    return _model(RatingsResult, response)


class RemoveResult(BaseModel):
    """`POST /sync/history/remove` (200): counts deleted, and what Trakt could not find
    (trakt/trakt-api projects/api/src/contracts/sync/schema/response/
    historyRemoveResponseSchema.ts l.5-8; `not_found.ids` echoes unknown history ids, as
    api-notes 4.3 and TraktKit's RemovedFromHistory model show)."""

    deleted: dict[str, int]
    not_found: dict[str, list[Any]] = {}


async def remove_history(client: TraktClient, history_ids: list[int]) -> RemoveResult:
    """Delete single plays by their history ids. Sending a movie's or an episode's `ids`
    instead would remove every play of it (contracts/sync/index.ts l.246-267)."""
    response = await client.request("POST", "/sync/history/remove", json={"ids": history_ids})
    return _model(RemoveResult, response)
