"""Trakt's history endpoints as respx answers them (test_import_trakt.py, test_importer.py)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import httpx
import respx

from scrobctl.services import trakt
from tests.conftest import FakeClock
from tests.helpers import NOW

API = "https://api.trakt.tv"
SERVICE = "trakt"
WEEK = 7 * 86_400
PAGE = 250  # Trakt's largest page (api-notes 0.5)
DEFAULT_LIMIT = 100  # what Trakt serves when no limit is sent (api-notes 6)


# -- what Trakt answers -------------------------------------------------------------------------


def movie(n: int, at: int, *, ids: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `/sync/history` entry for a movie (api-notes 4.1)."""
    return {
        "id": 1_000_000 + n,
        "watched_at": trakt.iso(at),
        "action": "scrobble",
        "type": "movie",
        "movie": {
            "title": f"Movie {n}",
            "year": 1990 + n % 30,
            "ids": {"trakt": n, "slug": f"movie-{n}", "imdb": f"tt{n:07d}", "tmdb": n}
            if ids is None
            else ids,
        },
    }


GOT = {
    "title": "Game of Thrones",
    "year": 2011,
    "ids": {
        "trakt": 1390,
        "slug": "game-of-thrones",
        "tvdb": 121361,
        "imdb": "tt0944947",
        "tmdb": 1399,
    },
}


def episode(season: int, number: int, at: int, *, show: dict[str, Any] = GOT) -> dict[str, Any]:
    """One `/sync/history` entry for an episode: `episode` + `show` (api-notes 4.1)."""
    n = season * 100 + number
    return {
        "id": 2_000_000 + n,
        "watched_at": trakt.iso(at),
        "action": "watch",
        "type": "episode",
        "episode": {
            "season": season,
            "number": number,
            "title": f"Episode {number}",
            "ids": {
                "trakt": 73_000 + n,
                "tvdb": 3_254_000 + n,
                "imdb": f"tt1{n:06d}",
                "tmdb": 63_000 + n,
            },
        },
        "show": show,
    }


def movies(count: int, *, newest: int = NOW - 600, step: int = 600) -> list[dict[str, Any]]:
    """`count` distinct movies, newest first, `step` seconds apart."""
    return [movie(i + 1, newest - i * step) for i in range(count)]


def rating(entry: dict[str, Any], value: int, rated_at: int) -> dict[str, Any]:
    """A `/sync/ratings` item for a history entry's movie or episode (api-notes 5)."""
    media = {k: v for k, v in entry.items() if k in ("movie", "episode", "show")}
    return {"rated_at": trakt.iso(rated_at), "rating": value, "type": entry["type"], **media}


def _ts(value: str | None) -> int | None:
    if value is None:
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def watched_at(entry: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(entry["watched_at"].replace("Z", "+00:00")).timestamp())


class FakeTrakt:
    """`GET /sync/history` and `GET /sync/ratings/{movies,shows,seasons,episodes}` on
    api.trakt.tv.

    History honours `page`, `limit` (default 100, clamped to 250), `start_at` and `end_at`
    (inclusive), answers newest first with the X-Pagination-* headers, and pages over what is
    there at the time of each request (so a play added mid-import shifts an open-ended window).
    Requests on pages in `fail_pages` get a 503. With a clock, every request advances it by
    `tick` seconds, as time passes during a real import.
    """

    def __init__(
        self,
        entries: list[dict[str, Any]] | None = None,
        *,
        ratings: dict[str, list[dict[str, Any]]] | None = None,
        clock: FakeClock | None = None,
        tick: float = 0.0,
    ) -> None:
        self.entries = list(entries or [])
        self.ratings = ratings or {}
        self.clock = clock
        self.tick = tick
        self.fail_pages: set[int] = set()
        self.requests: list[dict[str, str]] = []  # history query parameters, in order
        self.rating_requests: list[str] = []
        self.forced_limit: int | None = None
        self.on_request: list[Any] = []  # callables run before each history answer

    def install(self, router: respx.MockRouter) -> FakeTrakt:
        router.get(f"{API}/sync/history").mock(side_effect=self.history)
        for kind in ("movies", "shows", "seasons", "episodes"):
            router.get(f"{API}/sync/ratings/{kind}").mock(side_effect=self._ratings(kind))
        return self

    def add(self, *entries: dict[str, Any]) -> None:
        self.entries.extend(entries)

    @property
    def pages(self) -> list[int]:
        return [int(q.get("page", "1")) for q in self.requests]

    def since_sent(self) -> list[int | None]:
        return [_ts(q.get("start_at")) for q in self.requests]

    def history(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.requests.append(query)
        if self.clock is not None:
            self.clock.t += self.tick
        for hook in self.on_request:
            hook(query)
        page = int(query.get("page", "1"))
        if page in self.fail_pages:
            return httpx.Response(
                503, text="<html>busy</html>", headers={"Content-Type": "text/html"}
            )
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), PAGE)
        start, end = _ts(query.get("start_at")), _ts(query.get("end_at"))
        chosen = sorted(
            (
                e
                for e in self.entries
                if (start is None or start <= watched_at(e))
                and (end is None or watched_at(e) <= end)
            ),
            key=watched_at,
            reverse=True,
        )
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(max(1, math.ceil(len(chosen) / limit))),
            "X-Pagination-Item-Count": str(len(chosen)),
        }
        return httpx.Response(200, json=chosen[(page - 1) * limit : page * limit], headers=headers)

    def _ratings(self, kind: str) -> Any:
        """ "Pagination optional" (trakt/trakt-api contracts/sync/index.ts l.371-384): all at
        once without page/limit, unless `forced_limit` is set (pages of that size whatever is
        asked, as a forced-pagination answer, api-notes corrections item 11); with them, pages
        with the X-Pagination-* headers."""

        def answer(request: httpx.Request) -> httpx.Response:
            self.rating_requests.append(kind)
            query = dict(request.url.params)
            chosen = self.ratings.get(kind, [])
            if self.forced_limit is None and "page" not in query and "limit" not in query:
                return httpx.Response(200, json=chosen)
            page = int(query.get("page", "1"))
            limit = self.forced_limit or min(int(query.get("limit", DEFAULT_LIMIT)), PAGE)
            headers = {
                "X-Pagination-Page": str(page),
                "X-Pagination-Limit": str(limit),
                "X-Pagination-Page-Count": str(max(1, math.ceil(len(chosen) / limit))),
                "X-Pagination-Item-Count": str(len(chosen)),
            }
            return httpx.Response(
                200, json=chosen[(page - 1) * limit : page * limit], headers=headers
            )

        return answer


# -- fixtures and helpers -----------------------------------------------------------------------
