"""Filling in TMDb ids on imported video before it is matched (only with a TMDb API key)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from scrobctl.errors import ServiceError
from scrobctl.services.tmdb import SOURCES, TmdbClient
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page

VIDEO = ("movie", "show", "episode")


class TmdbResolver:
    """Looks up each distinct IMDb/TVDB id once per run; a failed look-up leaves the item as it
    is (resolution is a help, never a reason to lose a play)."""

    def __init__(self, client: TmdbClient) -> None:
        self._client = client
        self._known: dict[tuple[str, str, str], int | None] = {}

    async def ref(self, ref: ItemRef) -> ItemRef:
        show = await self.ref(ref.show) if ref.show is not None else None
        if ref.kind in VIDEO and "tmdb" not in ref.ids:
            for source in SOURCES:
                value = ref.ids.get(source)
                if value is None:
                    continue
                key = (ref.kind, source, str(value))
                if key not in self._known:
                    try:
                        self._known[key] = await self._client.find(ref.kind, source, value)
                    except ServiceError:
                        self._known[key] = None
                tmdb = self._known[key]
                if tmdb is not None:
                    ids = {**ref.ids, "tmdb": tmdb}
                    return replace(ref, ids=ids, show=show, tmdb_from=f"{source}:{value}")
        return replace(ref, show=show) if show is not ref.show else ref

    async def page(self, page: Page) -> Page:
        page.plays = [
            ImportedPlay(await self.ref(p.ref), p.watched_at, p.remote_id) for p in page.plays
        ]
        page.ratings = [
            ImportedRating(await self.ref(r.ref), r.rating, r.rated_at) for r in page.ratings
        ]
        return page


async def resolved(pages: AsyncIterator[Page], resolver: TmdbResolver) -> AsyncIterator[Page]:
    async for page in pages:
        yield await resolver.page(page)
