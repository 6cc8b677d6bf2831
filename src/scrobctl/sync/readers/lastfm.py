"""Last.fm scrobbles (`user.getRecentTracks`, 200 a page) and loved tracks.

Pages can be fetched independently once the first has told the page count, so several are
fetched at once (the service limiter still paces them) and written in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from scrobctl.errors import InvalidToken, ServiceError, ServiceUnavailable
from scrobctl.kinds import Link
from scrobctl.services import lastfm
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page, StepFailed

PAGE_SIZE = 200  # the documented maximum (api-notes A.6)
CONCURRENT_PAGES = 4
LOVED_RATING = 10.0  # Last.fm's only rating-like signal


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("#text") or value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


def item_ref(track: dict[str, Any]) -> ItemRef | None:
    artist, title = _text(track.get("artist")), _text(track.get("name"))
    if not artist or not title:
        return None
    mbid = track.get("mbid")
    ids = {"mbid": mbid} if isinstance(mbid, str) and mbid else {}
    return ItemRef("track", ids, title=title, artist=artist, album=_text(track.get("album")))


def _uts(track: dict[str, Any]) -> int | None:
    date = track.get("date")
    uts = date.get("uts") if isinstance(date, dict) else None
    try:
        return int(uts)
    except (TypeError, ValueError):
        return None


class LastfmReader:
    service = lastfm.SERVICE

    def __init__(
        self,
        client: lastfm.LastfmClient,
        user: str,
        now: float,
        concurrency: int = CONCURRENT_PAGES,
    ) -> None:
        self._client = client
        self._user = user
        self._now = now
        self._concurrency = concurrency

    async def _recent(self, page: int, to: int, since: int | None) -> dict[str, Any]:
        params = {"user": self._user, "limit": str(PAGE_SIZE), "page": str(page), "to": str(to)}
        if since is not None:
            params["from"] = str(since)
        data = await self._client.call("user.getRecentTracks", params, signed=False, post=False)
        recent = data.get("recenttracks")
        if not isinstance(recent, dict):
            raise ServiceUnavailable(self.service, "user.getRecentTracks gave an unexpected answer")
        return recent

    def _page(self, recent: dict[str, Any], cursor: dict[str, Any], total: int | None) -> Page:
        page = Page(cursor=cursor, total=total)
        for track in lastfm.as_list(recent.get("track")):
            if not isinstance(track, dict):
                continue
            attr = track.get("@attr")
            if isinstance(attr, dict) and attr.get("nowplaying") == "true":
                continue  # playing now: not a scrobble yet, and it has no date
            ref, at = item_ref(track), _uts(track)
            if ref is None or at is None:
                page.failed.append(
                    {"service": self.service, "entry": track, "reason": "no artist, title or date"}
                )
                continue
            page.plays.append(ImportedPlay(ref, at))
        return page

    async def pages(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        if not cursor.get("loved_page"):
            async for page in self._scrobbles(cursor, since):
                yield page
        try:
            async for page in self._loved(cursor.get("loved_page", 0) + 1):
                yield page
        except InvalidToken:
            raise
        except ServiceError as exc:
            # The scrobbles are complete by now; a compatible server may lack loved tracks
            # (error 3, Maloja), so the plays stay imported and only this step is named.
            raise StepFailed(
                "loved tracks",
                exc,
                "the scrobbles were imported; if this server has no loved tracks there is"
                " nothing more to do, otherwise run `scrobctl import lastfm` again later",
            ) from None

    async def _scrobbles(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        # `to` fixed at the start keeps page contents stable while new scrobbles arrive.
        to = cursor.get("to") or int(self._now)
        done = cursor.get("page", 0)
        first = await self._recent(done + 1, to, since)
        attr = first.get("@attr") or {}
        pages = int(attr.get("totalPages") or 0)
        total = int(attr["total"]) if str(attr.get("total", "")).isdigit() else None
        yield self._page(first, {"to": to, "page": done + 1}, total)
        number = done + 2
        while number <= pages:
            batch = list(range(number, min(pages, number + self._concurrency - 1) + 1))
            results = await asyncio.gather(
                *(self._recent(n, to, since) for n in batch), return_exceptions=True
            )
            # Write what arrived, in page order, up to the first failure; then raise it.
            for n, recent in zip(batch, results, strict=True):
                if isinstance(recent, BaseException):
                    raise recent
                yield self._page(recent, {"to": to, "page": n}, total)
            number = batch[-1] + 1

    async def _loved(self, page_number: int) -> AsyncIterator[Page]:
        while True:
            params = {"user": self._user, "limit": str(PAGE_SIZE), "page": str(page_number)}
            data = await self._client.call("user.getLovedTracks", params, signed=False, post=False)
            loved = data.get("lovedtracks")
            if not isinstance(loved, dict):
                raise ServiceUnavailable(
                    self.service, "user.getLovedTracks answered without lovedtracks"
                )
            attr = loved.get("@attr") or {}
            page = Page(cursor={"loved_page": page_number})
            for track in lastfm.as_list(loved.get("track")):
                ref = item_ref(track) if isinstance(track, dict) else None
                if ref is None:
                    page.failed.append(
                        {"service": self.service, "entry": track, "reason": "unusable loved track"}
                    )
                    continue
                page.ratings.append(ImportedRating(ref, LOVED_RATING, _uts(track)))
            yield page
            if page_number >= int(attr.get("totalPages") or 0):
                return
            page_number += 1


def reader(link: Link) -> LastfmReader:
    return LastfmReader(link.client, link.account(), link.runtime.clock.now())
