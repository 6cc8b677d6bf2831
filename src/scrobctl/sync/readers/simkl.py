"""Simkl history: the activities gate, then all items per type, with per-episode `watched_at`
(api-notes 10.1; the calls are in services/simkl.py). Ratings come in the same answer
(`user_rating`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrobctl.kinds import Link
from scrobctl.services import simkl
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page
from scrobctl.sync.readers import int_id, parse_time, video_ids

KINDS = ("movies", "shows", "anime")
UNKNOWN_DATE = parse_time("1970-01-01T00:00:01Z")  # Simkl's "watched, date unknown"


class SimklReader:
    service = simkl.SERVICE

    def __init__(self, client: simkl.SimklClient) -> None:
        self._client = client

    async def pages(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        # The activities call is the cheap gate Simkl requires before any all-items call.
        activities = await simkl.activities(self._client)
        changed = activities.get("all")
        memo = {"activities_all": changed}
        seen = (cursor.get("memo") or {}).get("activities_all")
        if since is not None and changed is not None and changed == seen:
            # Nothing moved since the last import: no all-items call at all (Simkl suspends
            # apps that call it without this gate, api-notes 10.1).
            yield Page(cursor={"kinds_done": list(KINDS), "memo": memo})
            return
        done = list(cursor.get("kinds_done", []))
        for kind in KINDS:
            if kind in done:
                continue
            entries = await simkl.all_items(self._client, kind, since)
            done.append(kind)
            yield self._page(kind, entries, {"kinds_done": list(done), "memo": memo})

    def _page(self, kind: str, entries: list[Any], cursor: dict[str, Any]) -> Page:
        """Each entry is one movie or show (anime are shows) with its plays and rating."""
        page = Page(cursor=cursor)
        item_type = "movie" if kind == "movies" else "show"
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            item = entry.get(item_type) or {}
            ids = video_ids(item.get("ids"))
            if not ids:
                page.failed.append({"service": self.service, "entry": entry, "reason": "no ids"})
                continue
            ref = ItemRef(item_type, ids, title=item.get("title"), year=int_id(item.get("year")))
            plays = _movie_plays if item_type == "movie" else _episode_plays
            page.plays.extend(plays(entry, ref))
            self._rating(entry, ref, page)
        return page

    @staticmethod
    def _rating(entry: dict[str, Any], ref: ItemRef, page: Page) -> None:
        rating = entry.get("user_rating")
        if isinstance(rating, int) and 1 <= rating <= 10:
            page.ratings.append(
                ImportedRating(ref, float(rating), parse_time(entry.get("user_rated_at")))
            )


def _movie_plays(entry: dict[str, Any], ref: ItemRef) -> Iterator[ImportedPlay]:
    """A movie's last watch (Simkl keeps one time per movie)."""
    at = parse_time(entry.get("last_watched_at"))
    if at is not None and at != UNKNOWN_DATE:
        yield ImportedPlay(ref, at)


def _episode_plays(entry: dict[str, Any], show: ItemRef) -> Iterator[ImportedPlay]:
    """Each episode with its own `watched_at`, by season and number."""
    for season in entry.get("seasons") or []:
        for episode in (season or {}).get("episodes") or []:
            at = parse_time((episode or {}).get("watched_at"))
            if at is None or at == UNKNOWN_DATE:
                continue
            ref = ItemRef(
                "episode", {}, show=show, season=season.get("number"), number=episode.get("number")
            )
            yield ImportedPlay(ref, at)


def reader(link: Link) -> SimklReader:
    return SimklReader(link.client)
