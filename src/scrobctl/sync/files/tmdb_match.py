"""Films named by title and year (Letterboxd) matched to TMDb ids through TMDb's search, never
guessed: a match is taken only when exactly one result has the same title and the same year, or
failing that, exactly one has the same title and a year one off (IMDb, TMDb and Letterboxd years
often differ by one: api-notes file-formats.md §4). Anything else is reported with its
candidates for the user to settle."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scrobctl.errors import ServiceError
from scrobctl.runtime import Runtime

CONCURRENCY = 8
CANDIDATES = 5


@dataclass
class Match:
    tmdb: int | None
    reason: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list)


def _norm(title: str) -> str:
    folded = unicodedata.normalize("NFKC", title).casefold().replace("&", "and")
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())


def _year(result: dict[str, Any]) -> int | None:
    date = result.get("release_date")
    if isinstance(date, str) and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None


def pick(name: str, year: int | None, results: list[dict[str, Any]]) -> int | None:
    """The one result that is this film, or None when there is none or more than one."""
    wanted = _norm(name)
    same = [
        r
        for r in results
        if wanted in (_norm(str(r.get("title") or "")), _norm(str(r.get("original_title") or "")))
    ]
    if year is None:
        return same[0]["id"] if len(same) == 1 else None
    for distance in (0, 1):
        near = {r["id"] for r in same if (y := _year(r)) is not None and abs(y - year) <= distance}
        if len(near) == 1:
            return near.pop()
        if len(near) > 1:
            return None
    return None


def candidate(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "tmdb": result["id"],
        "title": result.get("title"),
        "original_title": result.get("original_title"),
        "release_date": result.get("release_date"),
    }


class TmdbMatcher:
    """Looks each distinct (title, year) up once, several at a time under TMDb's rate limit."""

    def __init__(
        self,
        runtime: Runtime,
        api_url: str,
        api_key: str,
        on_step: Callable[[int, int], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._api_url = api_url
        self._api_key = api_key
        self._on_step = on_step  # (films looked up, films to look up)

    async def match_all(self, films: Iterable[tuple[str, int | None]]) -> dict[Any, Match]:
        from scrobctl.services.tmdb import TmdbClient

        wanted = list(dict.fromkeys(films))
        found: dict[Any, Match] = {}
        gate = asyncio.Semaphore(CONCURRENCY)
        async with self._runtime.http_client() as http:
            limiter = self._runtime.limiter("tmdb")
            client = TmdbClient(self._api_url, self._api_key, http, limiter)

            async def one(name: str, year: int | None) -> None:
                async with gate:
                    found[(name, year)] = await self._match(client, name, year)
                if self._on_step is not None:
                    self._on_step(len(found), len(wanted))

            await asyncio.gather(*(one(name, year) for name, year in wanted))
        return found

    async def _match(self, client: Any, name: str, year: int | None) -> Match:
        seen: dict[int, dict[str, Any]] = {}
        try:
            for search_year in (None, year) if year is not None else (None,):
                results = await client.search_movie(name, search_year)
                for r in results:
                    seen.setdefault(r["id"], r)
                tmdb = pick(name, year, results)
                if tmdb is not None:
                    return Match(tmdb)
        except ServiceError as exc:
            return Match(None, f"TMDb search failed ({exc.reason}); import again later")
        candidates = [candidate(r) for r in list(seen.values())[:CANDIDATES]]
        if not candidates:
            return Match(None, "no TMDb match")
        return Match(None, "no certain TMDb match", candidates)
