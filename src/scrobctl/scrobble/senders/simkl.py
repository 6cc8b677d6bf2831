"""Simkl: `POST /sync/history` batches, one POST a second, `not_found` recorded per play.

Simkl does not de-duplicate either, so a play that may already have reached it is looked up
with a `date_from` delta of `/sync/all-items` before it is sent again.
"""

from __future__ import annotations

from typing import Any

from scrobctl.kinds import Link
from scrobctl.scrobble.senders import Rejected
from scrobctl.scrobble.senders.ids import same_item
from scrobctl.scrobble.senders.video import VideoSender
from scrobctl.services import simkl
from scrobctl.store.records import PlayRecord

LOOKUP_MARGIN = 86400


class SimklSender(VideoSender):
    api = simkl

    def prepare(self, play: PlayRecord) -> tuple[str, Any]:
        when = simkl.iso(play.watched_at)
        if play.kind == "movie":
            ids = {k: play.ids[k] for k in simkl.IDS if k in play.ids}
            if not ids:
                raise Rejected("Simkl needs a simkl, imdb, tmdb or tvdb id for a movie")
            return "movies", {"ids": ids, "watched_at": when}
        if play.kind == "episode":
            show = {k: play.show_ids[k] for k in simkl.IDS if k in play.show_ids}
            if show and play.season is not None and play.number is not None:
                return "shows", (show, play.season, play.number, when)
            raise Rejected("Simkl needs the show's ids with the season and episode number")
        raise Rejected(f"Simkl does not take {play.kind}s")

    def echoed(self, ids: dict[str, Any], echoed: dict[str, Any]) -> bool:
        # Simkl echoes ids as strings at times ("603"): compare loosely.
        return same_item(ids, echoed)

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        since = min(p.watched_at for p in plays) - LOOKUP_MARGIN
        found: set[int] = set()
        # An episode sent under `shows` may be filed as anime, its own bucket (apiary.apib "Get
        # All Items" l.4277-4290; api-notes corrections item 8): look in both.
        kinds = {"movie": ("movies",), "episode": ("shows", "anime")}
        for kind in ("movies", "shows", "anime"):
            left = [p for p in plays if kind in kinds.get(p.kind, ()) and p.job_id not in found]
            if not left:
                continue
            entries = await simkl.items_since(self._client, kind, since)
            found.update(p.job_id for p in left if any(_has(p, e) for e in entries))
        return found


def _has(play: PlayRecord, entry: simkl.Watched) -> bool:
    if play.kind == "movie":
        return same_item(play.ids, entry.movie_ids) and entry.last_watched_at == play.watched_at
    if not same_item(play.show_ids, entry.show_ids):
        return False
    at = entry.episodes.get((play.season, play.number))
    return at is not None and at == play.watched_at


def sender(link: Link) -> SimklSender:
    return SimklSender.for_link(link)
