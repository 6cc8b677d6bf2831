"""ListenBrainz listens (1000 a page) and recording feedback, mapped to imported plays and
ratings; the calls are in services/listenbrainz.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrobctl.errors import InvalidToken, ServiceError
from scrobctl.kinds import Link
from scrobctl.services import listenbrainz
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page, StepFailed

PAGE_SIZE = 1000  # MAX_ITEMS_PER_GET; larger counts are clamped (api-notes B.6)
FEEDBACK_RATING = {1: 10.0, -1: 1.0}  # love -> 10, hate -> 1


def item_ref(metadata: Any) -> ItemRef | None:
    if not isinstance(metadata, dict):
        return None
    artist, track = metadata.get("artist_name"), metadata.get("track_name")
    if not isinstance(artist, str) or not isinstance(track, str) or not artist or not track:
        return None
    info = metadata.get("additional_info") or {}
    mapping = metadata.get("mbid_mapping") or {}
    mbid = info.get("recording_mbid") or mapping.get("recording_mbid")
    duration = info.get("duration_ms")
    if not isinstance(duration, int) and isinstance(info.get("duration"), int):
        duration = info["duration"] * 1000
    ids = {"mbid": mbid} if isinstance(mbid, str) and mbid else {}
    if isinstance(info.get("isrc"), str) and info["isrc"]:
        ids["isrc"] = info["isrc"]
    album = metadata.get("release_name")
    return ItemRef(
        "track",
        ids,
        title=track,
        artist=artist,
        album=album if isinstance(album, str) and album else None,
        duration_ms=duration if isinstance(duration, int) and duration > 0 else None,
    )


class ListenBrainzReader:
    service = listenbrainz.SERVICE

    def __init__(self, client: listenbrainz.ListenBrainzClient, user: str, now: float) -> None:
        self._client = client
        self._user = user
        self._now = now

    async def pages(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        if "feedback_offset" not in cursor:
            async for page in self._listens(cursor, since):
                yield page
        try:
            async for page in self._feedback(cursor.get("feedback_offset", 0)):
                yield page
        except InvalidToken:
            raise
        except ServiceError as exc:
            raise StepFailed(
                "recording feedback",
                exc,
                "the listens were imported; run `scrobctl import listenbrainz` again to fetch"
                " the feedback",
            ) from None

    @staticmethod
    def _new(listens: list[Any], boundary: set[tuple[Any, ...]]) -> bool:
        """Whether a page holds any listen not read before (beyond the overlap second)."""
        for listen in listens:
            if not isinstance(listen, dict):
                return True
            ref = item_ref(listen.get("track_metadata"))
            key = (listen.get("listened_at"), ref.artist if ref else "", ref.title if ref else "")
            if key not in boundary:
                return True
        return False

    async def _feedback(self, offset: int) -> AsyncIterator[Page]:
        """Loved (+1) and hated (-1) recordings, offset-paged, as ratings 10 and 1."""
        while True:
            entries = await self._client.feedback_page(self._user, offset, PAGE_SIZE)
            page = Page(cursor={"feedback_offset": offset + len(entries)})
            for entry in entries:
                rating = (
                    FEEDBACK_RATING.get(entry.get("score")) if isinstance(entry, dict) else None
                )
                ref = _feedback_ref(entry) if rating is not None else None
                if ref is None or rating is None:
                    page.failed.append(
                        {"service": self.service, "entry": entry, "reason": "unusable feedback"}
                    )
                    continue
                page.ratings.append(ImportedRating(ref, rating, entry.get("created")))
            yield page
            if len(entries) < PAGE_SIZE:
                return
            offset += len(entries)

    async def _listens(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        """Every listen after the cursor, once.

        With `min_ts` the server selects the OLDEST `count` listens after it, even when `max_ts`
        is sent too (listenstore/timescale_listenstore.py fetch_listens l.224-227 and l.382,
        commit 0a119846d; api-notes corrections item 1). So a run with a lower bound walks
        `min_ts` forward alone, and a full run walks `max_ts` down alone.
        """
        user = self._user
        total = cursor.get("total")
        if cursor.get("mode") == "forward":
            async for page in self._forward(
                cursor["min_ts"], cursor.get("upper"), cursor.get("boundary", []), total
            ):
                yield page
            return
        if since is not None:
            # `--since D` means from D on: min_ts is exclusive.
            async for page in self._forward(since - 1, None, [], None):
                yield page
            return
        if total is None:
            total = await self._client.listen_count(user)
        # max_ts is exclusive; one second of overlap keeps same-second listens at a page cut,
        # and the store drops what it already has (api-notes B.6 / trap 8).
        max_ts = cursor.get("max_ts") or int(self._now) + 1
        oldest: int | None = cursor.get("oldest")
        # Listens at the last page's earliest second, read again through the overlap: skipped.
        boundary = {tuple(k) for k in cursor.get("boundary", [])}
        while True:
            payload = await self._client.listens_page(
                self._user, {"count": PAGE_SIZE, "max_ts": max_ts}
            )
            listens = payload["listens"]
            if oldest is None and isinstance(payload.get("oldest_listen_ts"), int):
                oldest = payload["oldest_listen_ts"]
            # oldest_listen_ts is 0 for a user without listens (fetch_listens l.231-232).
            if oldest and max_ts > oldest and not self._new(listens, boundary):
                # Nothing new although older listens exist (the server's widening window search
                # came up short, api-notes B.6): read what is left below max_ts oldest first.
                async for page in self._forward(oldest - 1, max_ts, [], total):
                    yield page
                return
            page, keys, fresh = self._read(listens, boundary, total)
            lowest = min((k[0] for k in keys), default=max_ts - 1)
            next_max = lowest + 1 if lowest + 1 < max_ts else lowest
            boundary = {k for k in keys if k[0] == lowest} if next_max > lowest else set()
            page.cursor = {
                "max_ts": next_max,
                "oldest": oldest,
                "total": total,
                "boundary": sorted(boundary),
            }
            yield page
            if not listens or (oldest is not None and lowest <= oldest):
                return
            if fresh == 0 and not page.failed:
                return  # nothing new on a full page: only the overlap came back
            max_ts = next_max

    async def _forward(
        self, lower: int, upper: int | None, seen: list[Any], total: int | None
    ) -> AsyncIterator[Page]:
        """Pages of the oldest listens above `lower` (and below `upper`), moving `min_ts` up to
        the newest second of each page. That second is read again (min_ts is exclusive) and the
        listens already had there are skipped, so none sharing it is lost or counted twice."""
        boundary = {tuple(k) for k in seen}
        while True:
            params: dict[str, Any] = {"count": PAGE_SIZE, "min_ts": lower}
            if upper is not None:
                params["max_ts"] = upper
            payload = await self._client.listens_page(self._user, params)
            listens = payload["listens"]
            page, keys, fresh = self._read(listens, boundary, total)
            top = max((k[0] for k in keys), default=None)
            if top is not None:
                next_lower = top - 1 if top - 1 > lower else top
                boundary = {k for k in keys if k[0] == top} if next_lower < top else set()
                lower = next_lower
            page.cursor = {
                "mode": "forward",
                "min_ts": lower,
                "upper": upper,
                "total": total,
                "boundary": sorted(boundary),
            }
            yield page
            latest = payload.get("latest_listen_ts")
            if top is None or (fresh == 0 and not page.failed):
                return
            if len(listens) < PAGE_SIZE and (
                upper is not None or not isinstance(latest, int) or top >= latest
            ):
                return  # a short page that reached the end of the range

    def _read(
        self, listens: list[Any], boundary: set[tuple[Any, ...]], total: int | None
    ) -> tuple[Page, list[tuple[int, str, str]], int]:
        """A page of the listens not in `boundary`, every listen's key, and how many were new."""
        page = Page(total=total)
        keys: list[tuple[int, str, str]] = []
        fresh = 0
        for listen in listens:
            ref = item_ref(listen.get("track_metadata")) if isinstance(listen, dict) else None
            at = listen.get("listened_at") if isinstance(listen, dict) else None
            if ref is None or not isinstance(at, int):
                page.failed.append(
                    {"service": self.service, "entry": listen, "reason": "unreadable listen"}
                )
                continue
            key = (at, ref.artist or "", ref.title or "")
            keys.append(key)
            if key in boundary:
                continue
            fresh += 1
            page.plays.append(ImportedPlay(ref, at, listenbrainz.listen_msid(listen)))
        return page, keys, fresh


def _feedback_ref(entry: dict[str, Any]) -> ItemRef | None:
    """Feedback names a recording by MBID (or only by MSID, with metadata when asked for)."""
    ref = item_ref(entry.get("track_metadata"))
    mbid = entry.get("recording_mbid")
    if ref is not None and isinstance(mbid, str) and mbid:
        return ItemRef("track", {**ref.ids, "mbid": mbid}, ref.title, ref.artist, ref.album)
    return ref


def reader(link: Link) -> ListenBrainzReader:
    return ListenBrainzReader(link.client, link.account(), link.runtime.clock.now())
