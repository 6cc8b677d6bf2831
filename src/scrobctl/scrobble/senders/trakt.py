"""Trakt: `POST /sync/history` batches, at most one POST a second, never the same play twice.

Trakt does not de-duplicate item + watched_at (api-notes 4.2), so a play that may already have
reached it (its earlier attempt was cut off by a crash, a timeout or a 5xx after sending) is
looked up in the account's history around its time before it is sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import httpx

from scrobctl.accounts import trakt as trakt_account
from scrobctl.errors import InvalidToken
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import Outcome, Refused, Rejected
from scrobctl.scrobble.senders.ids import group_shows, id_key, same_item, scrobble_item
from scrobctl.services import trakt
from scrobctl.store.records import PlayRecord

BATCH_SIZE = 100  # no documented maximum; PlexTraktSync-sized batches keep bodies small
MOVIE_IDS = ("trakt", "imdb", "tmdb")
EPISODE_IDS = ("trakt", "tvdb")  # the ids Trakt's contracts accept for an episode request
SHOW_IDS = ("trakt", "tvdb", "imdb", "tmdb")
LOOKUP_MARGIN = 60
T = TypeVar("T")


def _pick(ids: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {k: ids[k] for k in names if ids.get(k) is not None}


async def retrying_401(
    client: trakt.TraktClient,
    refresh: Callable[[str], Awaitable[str]],
    call: Callable[[], Awaitable[T]],
) -> T:
    """A 401 on a token that should still work gets one refresh, then the login hint."""
    try:
        return await call()
    except InvalidToken:
        client.use_token(await refresh(client.access_token))
        return await call()


def refresher(
    runtime: Runtime, profile: str, http: httpx.AsyncClient, name: str = trakt.SERVICE
) -> Callable[[str], Awaitable[str]]:
    """One refresh of the target `name`'s token, for `retrying_401`."""

    async def refresh(refused: str) -> str:
        return await trakt_account.access_token(runtime, profile, http, refused=refused, name=name)

    return refresh


class TraktSender:
    service = trakt.SERVICE
    batch_size = BATCH_SIZE
    deduplicates = False

    def __init__(self, client: trakt.TraktClient, refresh: Callable[[str], Awaitable[str]]) -> None:
        self._client = client
        self._refresh = refresh

    async def _retrying_401(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retrying_401(self._client, self._refresh, call)

    def prepare(self, play: PlayRecord) -> tuple[str, Any]:
        when = trakt.iso(play.watched_at)
        if play.kind == "movie":
            ids = _pick(play.ids, MOVIE_IDS)
            if not ids:
                raise Rejected("Trakt needs a trakt, imdb or tmdb id for a movie")
            return "movies", {"ids": ids, "watched_at": when}
        if play.kind == "episode":
            ids = _pick(play.ids, EPISODE_IDS)
            if ids:
                return "episodes", {"ids": ids, "watched_at": when}
            show = _pick(play.show_ids, SHOW_IDS)
            if show and play.season is not None and play.number is not None:
                return "shows", (show, play.season, play.number, when)
            raise Rejected("Trakt needs the episode's trakt/tvdb id, or the show's ids")
        raise Rejected(f"Trakt does not take {play.kind}s")

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        item = scrobble_item(*payload)
        await self._retrying_401(lambda: trakt.scrobble_start(self._client, item, progress))

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        body: dict[str, list[dict[str, Any]]] = {"movies": [], "episodes": []}
        for _, (kind, payload) in batch:
            if kind != "shows":
                body[kind].append(payload)
        body["shows"] = group_shows([p for _, (k, p) in batch if k == "shows"])
        payload = {k: v for k, v in body.items() if v}
        result = await self._retrying_401(lambda: trakt.add_history(self._client, payload))
        missing = {
            kind: {id_key(item.get("ids", {})) for item in result.not_found.get(kind, [])}
            for kind in ("movies", "episodes", "shows")
        }
        outcomes: list[Outcome] = []
        stored = {"movies": 0, "episodes": 0}
        for _, (kind, payload) in batch:
            ids = payload[0] if kind == "shows" else payload["ids"]
            if id_key(ids) in missing[kind]:
                outcomes.append(Refused("not found on Trakt"))
            else:
                outcomes.append(None)
                stored["movies" if kind == "movies" else "episodes"] += 1
        trakt.check_counts(result, {k: n for k, n in stored.items() if n}, "/sync/history")
        return outcomes

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        start = min(p.watched_at for p in plays) - LOOKUP_MARGIN
        end = max(p.watched_at for p in plays) + LOOKUP_MARGIN
        entries = await self._retrying_401(lambda: trakt.history_between(self._client, start, end))
        found: set[int] = set()
        for play in plays:
            if any(_same_play(play, entry) for entry in entries):
                found.add(play.job_id)
        return found


def _same_play(play: PlayRecord, entry: dict[str, Any]) -> bool:
    try:
        watched = int(
            datetime.fromisoformat(entry["watched_at"].replace("Z", "+00:00")).timestamp()
        )
    except (KeyError, AttributeError, ValueError):
        return False
    if watched != play.watched_at:
        return False
    if play.kind == "movie":
        return same_item(play.ids, (entry.get("movie") or {}).get("ids") or {})
    episode = entry.get("episode") or {}
    if same_item(play.ids, episode.get("ids") or {}):
        return True
    show_ids = (entry.get("show") or {}).get("ids") or {}
    return (
        same_item(play.show_ids, show_ids)
        and episode.get("season") == play.season
        and episode.get("number") == play.number
    )


async def build(
    runtime: Runtime,
    profile: str,
    http: httpx.AsyncClient,
    limiter: ServiceLimiter,
    name: str = trakt.SERVICE,
) -> TraktSender:
    """The sender for the Trakt target `name` (its URL, app and token)."""
    client = await trakt_account.api_client(runtime, profile, http, limiter, name)
    sender = TraktSender(client, refresher(runtime, profile, http, name))
    sender.service = name
    return sender
