"""Trakt history (`GET /sync/history`, 250 a page) and ratings (`GET /sync/ratings`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrobctl.errors import ServiceUnavailable
from scrobctl.http import json_body
from scrobctl.services import trakt
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page
from scrobctl.sync.readers import parse_time, video_ids

PAGE_SIZE = 250  # sent on every page: Trakt clamps to 250 and defaults vary (api-notes 6)


def item_ref(entry: dict[str, Any]) -> ItemRef | None:
    if entry.get("type") == "movie" or ("movie" in entry and "episode" not in entry):
        movie = entry.get("movie") or {}
        ids = video_ids(movie.get("ids"))
        if not ids:
            return None
        return ItemRef("movie", ids, title=movie.get("title"), year=movie.get("year"))
    episode, show = entry.get("episode") or {}, entry.get("show") or {}
    show_ref = ItemRef("show", video_ids(show.get("ids")), title=show.get("title"))
    ref = ItemRef(
        "episode",
        video_ids(episode.get("ids")),
        title=episode.get("title"),
        show=show_ref if show_ref.ids else None,
        season=episode.get("season"),
        number=episode.get("number"),
    )
    if not ref.ids and not (ref.show and ref.season is not None and ref.number is not None):
        return None
    return ref


def _pages_total(response_headers: Any) -> tuple[int, int | None]:
    try:
        pages = int(response_headers.get("x-pagination-page-count", "1"))
    except ValueError:
        pages = 1
    try:
        total = int(response_headers["x-pagination-item-count"])
    except (KeyError, ValueError):
        total = None
    return pages, total


class TraktReader:
    service = trakt.SERVICE

    def __init__(self, client: trakt.TraktClient, now: float, ratings: bool = True) -> None:
        self._client = client
        self._now = now
        self._ratings = ratings

    async def pages(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        # A fixed end time keeps pages stable while new plays arrive during the import.
        end_at = cursor.get("end_at") or int(self._now)
        page = cursor.get("page", 0) + 1
        while True:
            params: dict[str, Any] = {"page": page, "limit": PAGE_SIZE, "end_at": trakt.iso(end_at)}
            if since is not None:
                params["start_at"] = trakt.iso(since)
            response = await self._client.request("GET", "/sync/history", params=params)
            body = json_body(response)
            if not isinstance(body, list):
                raise ServiceUnavailable(trakt.SERVICE, "/sync/history gave an unexpected answer")
            pages, total = _pages_total(response.headers)
            result = Page(cursor={"end_at": end_at, "page": page}, total=total)
            for entry in body:
                ref = item_ref(entry) if isinstance(entry, dict) else None
                watched = parse_time(entry.get("watched_at")) if isinstance(entry, dict) else None
                if ref is None or watched is None:
                    result.failed.append(
                        {"service": "trakt", "entry": entry, "reason": "no usable ids or date"}
                    )
                    continue
                result.plays.append(ImportedPlay(ref, watched))
            yield result
            if page >= pages or not body:
                break
            page += 1
        if self._ratings and not cursor.get("ratings_done"):
            yield await self._ratings_page(end_at)

    async def _ratings_page(self, end_at: int) -> Page:
        """Ratings of movies and episodes, in one call (ratings are "pagination optional")."""
        result = Page(cursor={"end_at": end_at, "page": 10**9, "ratings_done": True})
        for kind in ("movies", "episodes"):
            response = await self._client.request("GET", f"/sync/ratings/{kind}")
            body = json_body(response)
            for entry in body if isinstance(body, list) else []:
                ref = item_ref(entry) if isinstance(entry, dict) else None
                rating = entry.get("rating") if isinstance(entry, dict) else None
                if ref is None or not isinstance(rating, int) or not 1 <= rating <= 10:
                    result.failed.append(
                        {"service": "trakt", "entry": entry, "reason": "unusable rating"}
                    )
                    continue
                result.ratings.append(
                    ImportedRating(ref, float(rating), parse_time(entry.get("rated_at")))
                )
        return result
