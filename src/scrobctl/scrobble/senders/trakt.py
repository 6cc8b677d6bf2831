"""Trakt: `POST /sync/history` batches, at most one POST a second, never the same play twice.

Trakt does not de-duplicate item + watched_at (api-notes 4.2), so a play that may already have
reached it (its earlier attempt was cut off by a crash, a timeout or a 5xx after sending) is
looked up in the account's history around its time before it is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrobctl.kinds import Link
from scrobctl.scrobble.senders import Rejected
from scrobctl.scrobble.senders.ids import id_key, same_item
from scrobctl.scrobble.senders.video import VideoSender
from scrobctl.services import trakt
from scrobctl.store.records import PlayRecord

LOOKUP_MARGIN = 60


def _pick(ids: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {k: ids[k] for k in names if ids.get(k) is not None}


class TraktSender(VideoSender):
    api = trakt  # its client refreshes once on a 401 before it means "reconnect required"

    def prepare(self, play: PlayRecord) -> tuple[str, Any]:
        when = trakt.iso(play.watched_at)
        if play.kind == "movie":
            ids = _pick(play.ids, trakt.IDS["movie"])
            if not ids:
                raise Rejected("Trakt needs a trakt, imdb or tmdb id for a movie")
            return "movies", {"ids": ids, "watched_at": when}
        if play.kind == "episode":
            ids = _pick(play.ids, trakt.IDS["episode"])
            if ids:
                return "episodes", {"ids": ids, "watched_at": when}
            show = _pick(play.show_ids, trakt.IDS["show"])
            if show and play.season is not None and play.number is not None:
                return "shows", (show, play.season, play.number, when)
            raise Rejected("Trakt needs the episode's trakt/tvdb id, or the show's ids")
        raise Rejected(f"Trakt does not take {play.kind}s")

    def echoed(self, ids: dict[str, Any], echoed: dict[str, Any]) -> bool:
        return id_key(ids) == id_key(echoed)

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        start = min(p.watched_at for p in plays) - LOOKUP_MARGIN
        end = max(p.watched_at for p in plays) + LOOKUP_MARGIN
        entries = await trakt.history_between(self._client, start, end)
        found: set[int] = set()
        for play in plays:
            if any(_same_play(play, entry) for entry in entries):
                found.add(play.job_id)
        return found


def _same_play(play: PlayRecord, entry: trakt.HistoryEntry) -> bool:
    if entry.watched_at is None or int(entry.watched_at) != play.watched_at:
        return False
    if play.kind == "movie":
        return same_item(play.ids, entry.movie_ids)
    if same_item(play.ids, entry.episode_ids):
        return True
    return (
        same_item(play.show_ids, entry.show_ids)
        and entry.season == play.season
        and entry.number == play.number
    )


def sender(link: Link) -> TraktSender:
    return TraktSender.for_link(link)
