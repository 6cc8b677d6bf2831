"""Simkl's history endpoints as respx answers them (test_import_simkl.py, test_importer.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import respx

from scrobctl.services import simkl

API = "https://api.simkl.com"
SERVICE = "simkl"
KINDS = ("movies", "shows", "anime")
UNKNOWN_DATE = "1970-01-01T00:00:01Z"  # "watched, date unknown" (api-notes 10.1)


def iso(ts: int) -> str:
    return simkl.iso(ts)


def ts(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


# -- what Simkl answers ---------------------------------------------------------------------------

MATRIX_IDS = {"simkl": "53536", "slug": "the-matrix", "imdb": "tt0133093", "tmdb": "603"}


def movie(
    watched: str | None,
    *,
    title: str = "The Matrix",
    year: int = 1999,
    ids: dict[str, Any] = MATRIX_IDS,
    user_rating: int | None = None,
    rated_at: str | None = None,
) -> dict[str, Any]:
    """An all-items movie entry; ids as strings, the way Simkl often sends them (10.3)."""
    return {
        "last_watched_at": watched,
        "status": "completed",
        "user_rating": user_rating,
        "user_rated_at": rated_at,
        "watched_episodes_count": 0,
        "total_episodes_count": 0,
        "not_aired_episodes_count": 0,
        "movie": {"title": title, "poster": "66/66123abc", "year": year, "ids": ids},
    }


GOT_IDS = {
    "simkl": "17465",
    "slug": "game-of-thrones",
    "imdb": "tt0944947",
    "tmdb": "1399",
    "tvdb": "121361",
}


def show(
    seasons: dict[int, dict[int, str]],
    *,
    title: str = "Game of Thrones",
    year: int = 2011,
    ids: dict[str, Any] = GOT_IDS,
    user_rating: int | None = None,
    rated_at: str | None = None,
) -> dict[str, Any]:
    """An all-items show (or anime) entry with `seasons[].episodes[].watched_at`."""
    watched = [at for episodes in seasons.values() for at in episodes.values()]
    return {
        "last_watched_at": max(watched, default=None),
        "status": "watching",
        "user_rating": user_rating,
        "user_rated_at": rated_at,
        "watched_episodes_count": len(watched),
        "total_episodes_count": 73,
        "not_aired_episodes_count": 0,
        "show": {"title": title, "poster": "17/17465abc", "year": year, "ids": ids},
        "seasons": [
            {
                "number": number,
                "episodes": [{"number": n, "watched_at": at} for n, at in sorted(episodes.items())],
            }
            for number, episodes in sorted(seasons.items())
        ],
    }


def _changed(entry: dict[str, Any]) -> int:
    """When an entry last changed, for `date_from` (watched or rated, whichever is later)."""
    times = [entry.get("last_watched_at"), entry.get("user_rated_at")]
    return max((ts(t) for t in times if t), default=0)


class FakeSimkl:
    """`GET /sync/activities` and `GET /sync/all-items/{type}` on api.simkl.com.

    All-items answers `{type: [...]}`, only entries changed at or after `date_from` when given,
    and the whole-response `null` when there is nothing (api-notes 10.1). Every request is kept
    as (path, query) in `requests`.
    """

    def __init__(
        self,
        *,
        movies: list[dict[str, Any]] | None = None,
        shows: list[dict[str, Any]] | None = None,
        anime: list[dict[str, Any]] | None = None,
        activities_all: str = "2026-11-17T21:00:00Z",
    ) -> None:
        self.items = {"movies": movies or [], "shows": shows or [], "anime": anime or []}
        self.activities_all = activities_all
        self.requests: list[tuple[str, dict[str, str]]] = []

    def install(self, router: respx.MockRouter) -> FakeSimkl:
        router.get(f"{API}/sync/activities").mock(side_effect=self.activities)
        for kind in KINDS:
            router.get(f"{API}/sync/all-items/{kind}").mock(side_effect=self._all_items(kind))
        return self

    @property
    def paths(self) -> list[str]:
        return [path for path, _query in self.requests]

    def all_items_requests(self) -> list[tuple[str, dict[str, str]]]:
        return [(p, q) for p, q in self.requests if p.startswith("/sync/all-items/")]

    def activities(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.path, dict(request.url.params)))
        group = {
            "all": self.activities_all,
            "rated_at": self.activities_all,
            "playback": None,
            "plantowatch": None,
            "completed": self.activities_all,
            "dropped": None,
            "removed_from_list": None,
        }
        return httpx.Response(
            200,
            json={
                "all": self.activities_all,
                "settings": {"all": "2026-01-01T00:00:00Z"},
                "tv_shows": {**group, "watching": self.activities_all, "hold": None},
                "anime": {**group, "watching": None, "hold": None},
                "movies": group,
            },
        )

    def _all_items(self, kind: str) -> Any:
        def answer(request: httpx.Request) -> httpx.Response:
            query = dict(request.url.params)
            self.requests.append((request.url.path, query))
            entries = self.items[kind]
            if "date_from" in query:
                since = ts(query["date_from"])
                entries = [e for e in entries if _changed(e) >= since]
            if not entries:
                return httpx.Response(
                    200, content=b"null", headers={"Content-Type": "application/json"}
                )
            return httpx.Response(200, json={kind: entries})

        return answer


# -- fixtures and helpers -------------------------------------------------------------------------
