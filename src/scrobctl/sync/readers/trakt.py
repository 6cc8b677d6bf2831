"""Trakt history (250 a page) and ratings, mapped to imported plays and ratings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrobctl.kinds import Link
from scrobctl.services import trakt
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page
from scrobctl.sync.readers import parse_time, video_ids

PAGE_SIZE = 250  # sent on every page: Trakt clamps to 250 and defaults vary (api-notes 6)
RATED = ("movies", "shows", "seasons", "episodes")


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
            found = await trakt.history_page(self._client, page, PAGE_SIZE, end_at, since)
            body, pages = found.entries, found.pages
            result = Page(cursor={"end_at": end_at, "page": page}, total=found.total)
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
            async for rated in self._ratings_pages(end_at, cursor.get("ratings_at")):
                yield rated

    async def _ratings_pages(self, end_at: int, at: list[Any] | None) -> AsyncIterator[Page]:
        """Ratings of movies, shows, seasons and episodes: the ratings list exists for all four
        (trakt/trakt-api contracts/sync/index.ts l.371-384, `type` any sync type), paged
        (services/trakt.py `ratings_page`)."""
        kind_index, page = at if at else (0, 1)
        for index in range(kind_index, len(RATED)):
            kind = RATED[index]
            while True:
                found = await trakt.ratings_page(self._client, kind, page, PAGE_SIZE)
                body, pages = found.entries, found.pages
                last = (page >= pages or not body) and index == len(RATED) - 1
                cursor: dict[str, Any] = {"end_at": end_at, "page": 10**9}
                if last:
                    cursor["ratings_done"] = True
                elif page >= pages or not body:
                    cursor["ratings_at"] = [index + 1, 1]
                else:
                    cursor["ratings_at"] = [index, page + 1]
                yield self._rated(body, cursor)
                if page >= pages or not body:
                    break
                page += 1
            page = 1

    @staticmethod
    def _rated(body: list[Any], cursor: dict[str, Any]) -> Page:
        result = Page(cursor=cursor)
        for entry in body:
            ref = rated_ref(entry) if isinstance(entry, dict) else None
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


def rated_ref(entry: dict[str, Any]) -> ItemRef | None:
    """The item of a `/sync/ratings` entry: a movie, show, season (with its show) or episode."""
    kind = entry.get("type")
    if kind in ("show", "season"):
        show = entry.get("show") or {}
        show_ref = ItemRef(
            "show", video_ids(show.get("ids")), title=show.get("title"), year=show.get("year")
        )
        if kind == "show":
            return show_ref if show_ref.ids else None
        season = entry.get("season") or {}
        number = season.get("number")
        ref = ItemRef(
            "season",
            video_ids(season.get("ids")),
            show=show_ref if show_ref.ids else None,
            season=number if isinstance(number, int) else None,
        )
        if not ref.ids and not (ref.show and ref.season is not None):
            return None
        return ref
    return item_ref(entry)


def reader(link: Link) -> TraktReader:
    return TraktReader(link.client, link.runtime.clock.now())
