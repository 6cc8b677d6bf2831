"""Removal senders for `unscrobble` jobs: one play a request, done only on the server's word.

- Trakt: the play's history id is looked up around its time (`GET /sync/history`), then
  `POST /sync/history/remove {"ids": [...]}`; done when `deleted` counts it.
- Simkl: `POST /sync/history/remove` with the movie, or the show's season and episode; done when
  `deleted` counts it. Simkl does not address single plays: the item is unmarked.
- ListenBrainz: `POST /1/delete-listen` with the listen's time and `recording_msid` (kept from an
  import, else read back from `/listens`); done on `status: ok` (deleted within the hour).
- Last.fm has no API to delete a scrobble; no removal job is ever queued for it.

A target that does not have the play (any more) refuses the removal with that reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

import httpx

from scrobctl.http import ServiceLimiter
from scrobctl.kinds import Link, build
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import Outcome, Refused, Rejected, for_target
from scrobctl.scrobble.senders.ids import same_item
from scrobctl.scrobble.senders.trakt import _same_play
from scrobctl.services import listenbrainz, simkl, trakt
from scrobctl.store.history import half_length_window
from scrobctl.store.records import PlayRecord
from scrobctl.store.removals import RemovalRecord

TRAKT_LOOKUP_MARGIN = 60


class RemovalSender(Protocol):
    service: str
    batch_size: int
    outcome: str  # recorded on the finished job

    def prepare(self, record: RemovalRecord) -> Any: ...

    async def send(self, batch: list[tuple[RemovalRecord, Any]]) -> list[Outcome]: ...


class TraktRemovals:
    service = trakt.SERVICE
    batch_size = 1  # the answer counts deletions, so one play a request says which one went
    outcome = "removed"

    def __init__(self, client: trakt.TraktClient) -> None:
        self._client = client

    def prepare(self, record: RemovalRecord) -> RemovalRecord:
        if record.play.kind not in ("movie", "episode"):
            raise Rejected(f"Trakt has no {record.play.kind}s")
        return record

    async def send(self, batch: list[tuple[RemovalRecord, Any]]) -> list[Outcome]:
        return [await self._remove(record) for record, _ in batch]

    async def _remove(self, record: RemovalRecord) -> Outcome:
        play = record.play
        window = max(TRAKT_LOOKUP_MARGIN, half_length_window(play.duration_ms, play.kind))
        start, end = play.watched_at - window, play.watched_at + window
        entries = await trakt.history_between(self._client, start, end)
        found = _nearest(play, [e for e in entries if e.id is not None])
        if found is None:
            return Refused("Trakt has no play of this at that time")
        result = await trakt.remove_history(self._client, [found.id])
        if sum(result.deleted.get(k, 0) for k in ("movies", "episodes")) < 1:
            return Refused("Trakt deleted nothing")
        return None


def _nearest(play: PlayRecord, entries: list[trakt.HistoryEntry]) -> trakt.HistoryEntry | None:
    """The history entry of the same movie or episode closest in time to the play: an imported
    play is kept at the archive's time, which may differ from Trakt's by up to half its length
    (store/imports.py)."""
    best: tuple[float, trakt.HistoryEntry] | None = None
    for entry in entries:
        when = entry.watched_at
        if when is None or not _same_play(replace(play, watched_at=int(when)), entry):
            continue
        distance = abs(when - play.watched_at)
        if best is None or distance < best[0]:
            best = (distance, entry)
    return best[1] if best else None


class SimklRemovals:
    service = simkl.SERVICE
    batch_size = 1
    outcome = "removed"

    def __init__(self, client: simkl.SimklClient) -> None:
        self._client = client

    def prepare(self, record: RemovalRecord) -> tuple[str, dict[str, Any]]:
        play = record.play
        if play.kind == "movie":
            ids = {k: play.ids[k] for k in simkl.IDS if k in play.ids}
            if ids:
                return "movies", {"ids": ids}
            raise Rejected("Simkl needs a simkl, imdb, tmdb or tvdb id for a movie")
        if play.kind == "episode":
            show = {k: play.show_ids[k] for k in simkl.IDS if k in play.show_ids}
            if show and play.season is not None and play.number is not None:
                season = {"number": play.season, "episodes": [{"number": play.number}]}
                return "shows", {"ids": show, "seasons": [season]}
            raise Rejected("Simkl needs the show's ids with the season and episode number")
        raise Rejected(f"Simkl has no {play.kind}s")

    async def send(self, batch: list[tuple[RemovalRecord, Any]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for _, (kind, item) in batch:
            result = await simkl.remove_history(self._client, {kind: [item]})
            missing = any(
                same_item(item["ids"], echoed.get("ids") or {})
                for echoed in result.not_found.get(kind, [])
            )
            counted = sum(result.deleted.get(k, 0) for k in ("movies", "episodes", "shows"))
            if missing:
                outcomes.append(Refused("not found on Simkl"))
            elif counted < 1:
                outcomes.append(Refused("Simkl deleted nothing"))
            else:
                outcomes.append(None)
        return outcomes


class ListenBrainzRemovals:
    service = listenbrainz.SERVICE
    batch_size = 1  # delete-listen takes one listen
    outcome = "deletion scheduled"

    def __init__(self, client: listenbrainz.ListenBrainzClient, user: str) -> None:
        self._client = client
        self._user = user

    def prepare(self, record: RemovalRecord) -> RemovalRecord:
        if not record.play.artist or not record.play.title:
            raise Rejected("needs the artist and title to find the listen")
        return record

    async def send(self, batch: list[tuple[RemovalRecord, Any]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for record, _ in batch:
            found = await self._find(record)
            if found is None:
                outcomes.append(Refused("ListenBrainz has no listen of this at that time"))
                continue
            await self._client.delete_listen(*found)
            outcomes.append(None)
        return outcomes

    async def _find(self, record: RemovalRecord) -> tuple[int, str] | None:
        """(listened_at, recording_msid) of the listen: the one with the msid an import kept,
        else the same artist and title nearest in time (an imported listen is kept at the
        archive's time, up to half the track's length from ListenBrainz's)."""
        play = record.play
        window = half_length_window(play.duration_ms, play.kind)
        listens = await self._client.listens_between(
            self._user, play.watched_at - window, play.watched_at + window
        )
        best: tuple[int, int, str] | None = None
        for listen in listens:
            msid = listenbrainz.listen_msid(listen)
            if msid is None:
                continue
            meta = listen.get("track_metadata") or {}
            same = (
                str(meta.get("artist_name", "")).casefold() == (play.artist or "").casefold()
                and str(meta.get("track_name", "")).casefold() == (play.title or "").casefold()
            )
            if msid == record.remote_id or same:
                rank = (
                    0
                    if msid == record.remote_id
                    else 1 + abs(listen["listened_at"] - play.watched_at)
                )
                if best is None or rank < best[0]:
                    best = (rank, listen["listened_at"], msid)
        if best is not None:
            return best[1], best[2]
        if record.remote_id:
            return play.watched_at, record.remote_id  # not listed (yet): ask by what we know
        return None


def trakt_removals(link: Link) -> RemovalSender:
    return for_target(TraktRemovals(link.client), link)


def simkl_removals(link: Link) -> RemovalSender:
    return for_target(SimklRemovals(link.client), link)


def listenbrainz_removals(link: Link) -> RemovalSender:
    return for_target(ListenBrainzRemovals(link.client, link.account()), link)


async def build_removal_sender(
    runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> RemovalSender:
    """The removal sender for a target, chosen by its kind; only targets that `removable`
    allows ever get removal jobs (kinds.py)."""
    return await build("removal_sender", runtime, service, profile, http, limiter)
