"""Rating senders: Trakt and Simkl `POST /sync/ratings` batches, Last.fm `track.love`,
ListenBrainz recording feedback. Re-sending a rating is harmless on all four (it overwrites)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx

from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import Outcome, Refused, Rejected
from scrobctl.scrobble.senders.ids import same_item
from scrobctl.scrobble.senders.trakt import refresher, retrying_401
from scrobctl.services import lastfm, listenbrainz, simkl, trakt
from scrobctl.store.ratings import RatingRecord
from scrobctl.tokens import SECRET_KEY

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


class TraktRatings:
    service = trakt.SERVICE
    batch_size = BATCH_SIZE

    def __init__(self, client: trakt.TraktClient, refresh: Callable[[str], Awaitable[str]]) -> None:
        self._client = client
        self._refresh = refresh

    def prepare(self, record: RatingRecord) -> tuple[str, dict[str, Any]]:
        kinds = {
            "movie": ("movies", ("trakt", "imdb", "tmdb")),
            "show": ("shows", ("trakt", "tvdb", "imdb", "tmdb")),
            # seasonIdsRequestSchema: trakt or tvdb (its tmdb is typed a string: not sent).
            "season": ("seasons", ("trakt", "tvdb")),
            "episode": ("episodes", ("trakt", "tvdb")),
        }
        if record.kind not in kinds:
            raise Rejected(f"Trakt does not rate {record.kind}s")
        kind, names = kinds[record.kind]
        ids = {k: record.ids[k] for k in names if k in record.ids}
        if not ids:
            raise Rejected(f"no id Trakt can match for this {record.kind}")
        item: dict[str, Any] = {"ids": ids, "rating": int(record.rating)}
        if record.rated_at:
            item["rated_at"] = trakt.iso(record.rated_at)
        return kind, item

    async def send(self, batch: list[tuple[RatingRecord, Any]]) -> list[Outcome]:
        body: dict[str, list[dict[str, Any]]] = {}
        for _, (kind, item) in batch:
            body.setdefault(kind, []).append(item)
        result = await retrying_401(
            self._client, self._refresh, lambda: trakt.add_ratings(self._client, body)
        )
        outcomes: list[Outcome] = [
            Refused("not found on Trakt")
            if _not_found(result.not_found, kind, item["ids"])
            else None
            for _, (kind, item) in batch
        ]
        trakt.check_counts(result, _stored(batch, outcomes), "/sync/ratings")
        return outcomes


class SimklRatings:
    service = simkl.SERVICE
    batch_size = BATCH_SIZE

    def __init__(self, client: simkl.SimklClient) -> None:
        self._client = client

    def prepare(self, record: RatingRecord) -> tuple[str, dict[str, Any]]:
        kinds = {"movie": "movies", "show": "shows"}
        if record.kind not in kinds:
            raise Rejected(f"Simkl rates movies and shows, not {record.kind}s")
        ids = {k: record.ids[k] for k in ("simkl", "imdb", "tmdb", "tvdb") if k in record.ids}
        if not ids:
            raise Rejected(f"no id Simkl can match for this {record.kind}")
        item: dict[str, Any] = {"ids": ids, "rating": int(record.rating)}
        if record.rated_at:
            item["rated_at"] = simkl.iso(record.rated_at)
        return kinds[record.kind], item

    async def send(self, batch: list[tuple[RatingRecord, Any]]) -> list[Outcome]:
        body: dict[str, list[dict[str, Any]]] = {}
        for _, (kind, item) in batch:
            body.setdefault(kind, []).append(item)
        result = await simkl.add_ratings(self._client, body)
        outcomes: list[Outcome] = [
            Refused("not found on Simkl")
            if _not_found(result.not_found, kind, item["ids"])
            else None
            for _, (kind, item) in batch
        ]
        simkl.check_counts(result, _stored(batch, outcomes), "/sync/ratings")
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


async def build_rating_sender(
    runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> RatingSender:
    """The rating sender for a target (`service` is its name), chosen by the target's kind."""
    from scrobctl.targets import resolve

    target = resolve(runtime, profile, service)
    name = target.name
    sender: RatingSender
    service = target.kind
    if service == trakt.SERVICE:
        from scrobctl.accounts import trakt as account

        client = await account.api_client(runtime, profile, http, limiter, name)
        sender = TraktRatings(client, refresher(runtime, profile, http, name))
        sender.service = name
        return sender
    if service == simkl.SERVICE:
        from scrobctl.accounts.simkl import api_client

        sender = SimklRatings(api_client(runtime, profile, http, limiter, name))
        sender.service = name
        return sender
    secret = runtime.secret(profile, name, SECRET_KEY[service], target.kind)
    if service == lastfm.SERVICE:
        from scrobctl.accounts.lastfm import target_app

        app = target_app(runtime, target, None)
        sender = LastfmLoves(
            lastfm.LastfmClient(
                target.api_url(runtime),
                app["api_key"],
                app["api_secret"],
                http,
                limiter,
                secret["session_key"],
                profile,
            )
        )
    elif service == listenbrainz.SERVICE:
        sender = ListenBrainzFeedback(
            listenbrainz.ListenBrainzClient(target.api_url(runtime), secret["token"], http, limiter)
        )
    else:
        raise ValueError(f"no rating sender for {service}")
    sender.service = name
    return sender
