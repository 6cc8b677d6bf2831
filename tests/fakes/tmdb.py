"""A fake TMDb movie search, `GET /3/search/movie`, as TMDb documents it.

Contract (developer.themoviedb.org/reference/search-movie; the CRAN `TMDb` package's
`search_movie` reference, search.r-project.org/CRAN/refmans/TMDb/html/search_movie.html):
* query parameters `query` (required), `page` (1-1000), `include_adult`, `language`, `year`
  ("filter the results release dates to matches that include this value": any release of the
  film in that year) and `primary_release_year` (only the primary release date);
* the credential: `api_key` as a query parameter, or a v4 read access token as
  `Authorization: Bearer` (developer.themoviedb.org/docs/authentication-application); a wrong
  one is 401 `{"status_code": 7, "status_message": "Invalid API key: ...", "success": false}`;
* the answer `{"page", "results", "total_pages", "total_results"}`, 20 results a page, most
  popular first; each result has `id`, `title`, `original_title`, `release_date` (primary,
  "YYYY-MM-DD", "" when unknown), `popularity`, `adult`, `overview`...
* a missing `query` is 422 `{"errors": ["query must be provided"]}`.

Title matching is TMDb's "phrase" search, approximated: every word of the query appears in the
title or the original title (case- and accent-insensitive).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from tests.fakes.server import FakeService, Reply, Request

PAGE = 20


@dataclass
class Film:
    id: int
    title: str
    release_date: str  # the primary release
    other_release_years: list[int] = field(default_factory=list)
    original_title: str | None = None
    popularity: float = 1.0

    def years(self) -> set[int]:
        primary = {int(self.release_date[:4])} if self.release_date else set()
        return primary | set(self.other_release_years)


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return re.findall(r"\w+", folded)


class FakeTmdb(FakeService):
    def __init__(self, api_key: str = "tmdb-key", latency: float = 0.0) -> None:
        super().__init__(latency)
        self.api_key = api_key
        self.films: list[Film] = []

    def add(self, film: Film) -> Film:
        self.films.append(film)
        return film

    def _authorised(self, request: Request) -> bool:
        given = request.query.get("api_key", [""])[0]
        bearer = request.headers.get("authorization", "")
        return given == self.api_key or bearer == f"Bearer {self.api_key}"

    def handle(self, request: Request) -> Reply:
        if request.path != "/3/search/movie":
            return Reply(404, {"status_code": 34, "status_message": "not found", "success": False})
        if not self._authorised(request):
            return Reply(
                401,
                {
                    "status_code": 7,
                    "status_message": "Invalid API key: You must be granted a valid key.",
                    "success": False,
                },
            )
        query = request.query.get("query", [""])[0]
        if not query.strip():
            return Reply(422, {"errors": ["query must be provided"]})
        words = _words(query)
        year = request.query.get("year", [None])[0]
        primary = request.query.get("primary_release_year", [None])[0]
        page = int(request.query.get("page", ["1"])[0])
        found = []
        for film in self.films:
            title_words = set(_words(film.title)) | set(_words(film.original_title or ""))
            if not all(w in title_words for w in words):
                continue
            if year is not None and int(year) not in film.years():
                continue
            if primary is not None and not film.release_date.startswith(primary):
                continue
            found.append(film)
        found.sort(key=lambda f: -f.popularity)
        chunk = found[(page - 1) * PAGE : page * PAGE]
        return Reply(
            200,
            {
                "page": page,
                "results": [
                    {
                        "adult": False,
                        "id": f.id,
                        "title": f.title,
                        "original_title": f.original_title or f.title,
                        "original_language": "en",
                        "overview": "",
                        "release_date": f.release_date,
                        "popularity": f.popularity,
                        "genre_ids": [],
                        "video": False,
                        "vote_average": 7.0,
                        "vote_count": 100,
                    }
                    for f in chunk
                ],
                "total_pages": max(1, -(-len(found) // PAGE)),
                "total_results": len(found),
            },
        )
