"""ListenBrainz listens (`/1/user/{name}/listens`, 1000 a page, `max_ts` cursor) and feedback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrobctl.errors import ServiceError, ServiceUnavailable
from scrobctl.http import json_body
from scrobctl.services import listenbrainz
from scrobctl.store.imports import ImportedPlay, ImportedRating
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page

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


class MissingHistory(ServiceError):
    """The server does not offer ListenBrainz's history API; retrying cannot help."""


class ListenBrainzReader:
    service = listenbrainz.SERVICE

    def __init__(self, client: listenbrainz.ListenBrainzClient, user: str, now: float) -> None:
        self._client = client
        self._user = user
        self._now = now

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.get(path, params)
        body = json_body(response)
        if not isinstance(body, dict):
            raise ServiceUnavailable(self.service, f"{path} gave an unexpected answer")
        if isinstance(body.get("error"), str) and not {"payload", "feedback"} & body.keys():
            # A compatible server answers an endpoint it lacks with 200 and an error (Maloja:
            # `{"code": 200, "error": "Invalid Method"}`, apis/listenbrainz.py l.27).
            raise MissingHistory(
                self.service,
                f"the server has no GET {path} (it answered {body['error'][:80]!r}), so its"
                " history cannot be imported",
                "export your plays from that server and import the file instead",
            )
        return body

    async def pages(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]:
        if "feedback_offset" not in cursor:
            async for page in self._listens(cursor, since):
                yield page
        async for page in self._feedback(cursor.get("feedback_offset", 0)):
            yield page

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
        path = f"/1/feedback/user/{self._user}/get-feedback"
        while True:
            params = {"count": PAGE_SIZE, "offset": offset, "metadata": "true"}
            body = await self._get(path, params)
            entries = body.get("feedback") or []
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
        user = self._user
        total = cursor.get("total")
        if total is None and since is None:
            count = await self._get(f"/1/user/{user}/listen-count", {})
            total = (count.get("payload") or {}).get("count")
        # max_ts is exclusive; one second of overlap keeps same-second listens at a page cut,
        # and the store drops what it already has (api-notes B.6 / trap 8).
        max_ts = cursor.get("max_ts") or int(self._now) + 1
        oldest: int | None = cursor.get("oldest")
        # Listens at the last page's earliest second, read again through the overlap: skipped.
        boundary = {tuple(k) for k in cursor.get("boundary", [])}
        while True:
            params: dict[str, Any] = {"count": PAGE_SIZE, "max_ts": max_ts}
            if since is not None:
                params["min_ts"] = since
            payload = (await self._get(f"/1/user/{user}/listens", params)).get("payload") or {}
            listens = payload.get("listens") or []
            if oldest is None and isinstance(payload.get("oldest_listen_ts"), int):
                oldest = payload["oldest_listen_ts"]
            if (
                since is None
                and oldest is not None
                and max_ts > oldest
                and not self._new(listens, boundary)
            ):
                # Nothing new although older listens exist: the server searches in widening
                # windows and a long gap defeats it (api-notes B.6). Bound it from below too.
                params["min_ts"] = oldest - 1
                payload = (await self._get(f"/1/user/{user}/listens", params)).get("payload") or {}
                listens = payload.get("listens") or []
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
                page.plays.append(ImportedPlay(ref, at))
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
            if since is not None and len(listens) < PAGE_SIZE:
                return
            if fresh == 0 and not page.failed:
                return  # nothing new on a full page: only the overlap came back
            max_ts = next_max


def _feedback_ref(entry: dict[str, Any]) -> ItemRef | None:
    """Feedback names a recording by MBID (or only by MSID, with metadata when asked for)."""
    ref = item_ref(entry.get("track_metadata"))
    mbid = entry.get("recording_mbid")
    if ref is not None and isinstance(mbid, str) and mbid:
        return ItemRef("track", {**ref.ids, "mbid": mbid}, ref.title, ref.artist, ref.album)
    return ref
