"""Rating senders: Trakt and Simkl `POST /sync/ratings` batches, Last.fm `track.love`,
ListenBrainz recording feedback. Re-sending a rating is harmless on all four (it overwrites)."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from scrobctl.http import ServiceLimiter
from scrobctl.kinds import Link, build
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import Outcome, Refused, Rejected, for_target
from scrobctl.scrobble.senders.ids import same_item
from scrobctl.services import lastfm, listenbrainz, simkl, trakt
from scrobctl.store.ratings import RatingRecord

BATCH_SIZE = 100


class RatingSender(Protocol):
    service: str
    batch_size: int

    def prepare(self, record: RatingRecord) -> Any: ...

    async def send(self, batch: list[tuple[RatingRecord, Any]]) -> list[Outcome]: ...


def _not_found(echoed: dict[str, list[dict[str, Any]]], kind: str, ids: dict[str, Any]) -> bool:
    return any(same_item(ids, item.get("ids") or {}) for item in echoed.get(kind, []))


def _stored(batch: list[tuple[RatingRecord, Any]], outcomes: list[Outcome]) -> dict[str, int]:
    """How many ratings of each kind the answer must count as added."""
    counts: dict[str, int] = {}
    for (_, (kind, _item)), out in zip(batch, outcomes, strict=True):
        if out is None:
            counts[kind] = counts.get(kind, 0) + 1
    return counts


class VideoRatings:
    """Trakt and Simkl take the same `POST /sync/ratings` body (items by type, each with its
    ids, a whole-point rating and `rated_at`) and answer the same way (counts, `not_found`)."""

    batch_size = BATCH_SIZE

    def __init__(self, client: Any, api: Any, label: str, ids: dict[str, tuple[str, ...]]) -> None:
        self._client = client
        self._api = api  # services.trakt or services.simkl
        self._label = label
        self._ids = ids  # the ids the service matches, per item type it rates
        self.service = api.SERVICE

    def prepare(self, record: RatingRecord) -> tuple[str, dict[str, Any]]:
        if record.kind not in self._ids:
            raise Rejected(f"{self._label} does not rate {record.kind}s")
        ids = {k: record.ids[k] for k in self._ids[record.kind] if k in record.ids}
        if not ids:
            raise Rejected(f"no id {self._label} can match for this {record.kind}")
        item: dict[str, Any] = {"ids": ids, "rating": int(record.rating)}
        if record.rated_at:
            item["rated_at"] = self._api.iso(record.rated_at)
        return f"{record.kind}s", item

    async def send(self, batch: list[tuple[RatingRecord, Any]]) -> list[Outcome]:
        body: dict[str, list[dict[str, Any]]] = {}
        for _, (kind, item) in batch:
            body.setdefault(kind, []).append(item)
        result = await self._api.add_ratings(self._client, body)
        outcomes: list[Outcome] = [
            Refused(f"not found on {self._label}")
            if _not_found(result.not_found, kind, item["ids"])
            else None
            for _, (kind, item) in batch
        ]
        self._api.check_counts(result, _stored(batch, outcomes))
        return outcomes


class LastfmLoves:
    service = lastfm.SERVICE
    batch_size = 1  # track.love takes one track

    def __init__(self, client: lastfm.LastfmClient) -> None:
        self._client = client

    def prepare(self, record: RatingRecord) -> tuple[str, str]:
        if not record.artist or not record.title:
            raise Rejected("needs an artist and a title to love on Last.fm")
        return record.artist, record.title

    async def send(self, batch: list[tuple[RatingRecord, Any]]) -> list[Outcome]:
        for _, (artist, title) in batch:
            await lastfm.love(self._client, artist, title)
        return [None] * len(batch)


class ListenBrainzFeedback:
    service = listenbrainz.SERVICE
    batch_size = 1  # one recording a request

    def __init__(self, client: listenbrainz.ListenBrainzClient) -> None:
        self._client = client

    def prepare(self, record: RatingRecord) -> tuple[str, int]:
        if not record.mbid:
            raise Rejected("no recording MBID, which ListenBrainz feedback needs")
        if not listenbrainz.is_mbid(record.mbid):
            raise Rejected("the recording MBID is not a valid UUID; ListenBrainz refuses it")
        return record.mbid, int(record.rating)

    async def send(self, batch: list[tuple[RatingRecord, Any]]) -> list[Outcome]:
        for _, (mbid, score) in batch:
            await self._client.recording_feedback(mbid, score)
        return [None] * len(batch)


def trakt_ratings(link: Link) -> RatingSender:
    ids = {kind: trakt.IDS[kind] for kind in link.kind.rates}
    return for_target(VideoRatings(link.client, trakt, link.kind.label, ids), link)


def simkl_ratings(link: Link) -> RatingSender:
    ids = {kind: simkl.IDS for kind in link.kind.rates}
    return for_target(VideoRatings(link.client, simkl, link.kind.label, ids), link)


def lastfm_loves(link: Link) -> RatingSender:
    return for_target(LastfmLoves(link.client), link)


def listenbrainz_feedback(link: Link) -> RatingSender:
    return for_target(ListenBrainzFeedback(link.client), link)


async def build_rating_sender(
    runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> RatingSender:
    """The rating sender for a target (`service` is its name), chosen by its kind (kinds.py)."""
    return await build("rating_sender", runtime, service, profile, http, limiter)
