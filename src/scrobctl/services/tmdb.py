"""TMDb id resolution (api-notes 11): `GET /3/find/{external_id}?external_source=...`.

Optional: used only with `SCROBCTL_TMDB__API_KEY`. It gives items that arrive with only an IMDb
or TVDB id their TMDb id, the first id scrobctl matches video by, so the same movie from two
services becomes one item.

The key may be either credential TMDb issues (developer.themoviedb.org "Application"
authentication; api-notes corrections item 14): the v4 API Read Access Token, a JWT sent as
`Authorization: Bearer ...` (TMDb's default), or the v3 API key, sent as `api_key`. They are
told apart by shape.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from scrobctl.errors import ServiceUnavailable
from scrobctl.http import ServiceLimiter, json_body, send

SERVICE = "tmdb"
SOURCES = {"imdb": "imdb_id", "tvdb": "tvdb_id"}
# The result list that holds each kind (episodes come back with their own TMDb id).
RESULTS = {"movie": "movie_results", "show": "tv_results", "episode": "tv_episode_results"}
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def is_read_access_token(key: str) -> bool:
    """A v4 Read Access Token is a JWT (three base64url parts); a v3 API key is 32 hex digits."""
    return bool(_JWT.match(key.strip()))


class TmdbClient:
    def __init__(
        self, api_url: str, api_key: str, http: httpx.AsyncClient, limiter: ServiceLimiter
    ) -> None:
        self._base = api_url.rstrip("/")
        self._key = api_key
        self._http = http
        self._limiter = limiter

    def _credentials(self, params: dict[str, Any]) -> dict[str, str]:
        """The headers for this key; a v3 key goes into `params` instead."""
        if is_read_access_token(self._key):
            return {"Authorization": f"Bearer {self._key.strip()}"}
        params["api_key"] = self._key
        return {}

    async def find(self, kind: str, source: str, external_id: Any) -> int | None:
        """The TMDb id of a movie, show or episode known by its IMDb or TVDB id, or None."""
        params: dict[str, Any] = {"external_source": SOURCES[source]}
        headers = self._credentials(params)
        request = self._http.build_request(
            "GET", f"{self._base}/3/find/{external_id}", params=params, headers=headers
        )
        response = await send(self._http, self._limiter, request)
        body = json_body(response)
        if not isinstance(body, dict):
            raise ServiceUnavailable(SERVICE, "/3/find gave an unexpected answer")
        results = body.get(RESULTS.get(kind, ""), [])
        if isinstance(results, list) and results and isinstance(results[0], dict):
            found = results[0].get("id")
            return found if isinstance(found, int) else None
        return None

    async def search_movie(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """`GET /3/search/movie` (developer.themoviedb.org/reference/search-movie): the first
        page (20, most popular first) of films whose title matches; `year` keeps those with
        any release in that year (`primary_release_year` would keep only the first release).
        Each result has `id`, `title`, `original_title` and `release_date` ("YYYY-MM-DD" or "")."""
        params: dict[str, Any] = {"query": query, "include_adult": "false"}
        headers = self._credentials(params)
        if year is not None:
            params["year"] = year
        request = self._http.build_request(
            "GET", f"{self._base}/3/search/movie", params=params, headers=headers
        )
        response = await send(self._http, self._limiter, request)
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise ServiceUnavailable(SERVICE, "/3/search/movie gave an answer without 'results'")
        return [r for r in body["results"] if isinstance(r, dict) and isinstance(r.get("id"), int)]
