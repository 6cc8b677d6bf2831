"""Last.fm: signed `track.scrobble` batches of 50, per-play ignored codes, the 14-day rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from scrobctl.errors import ServiceUnavailable
from scrobctl.kinds import Link
from scrobctl.scrobble.rules import in_future
from scrobctl.scrobble.senders import Later, Outcome, Refused, Rejected
from scrobctl.scrobble.senders.maloja import MalojaCollisions
from scrobctl.scrobble.senders.music import MusicSender
from scrobctl.services import lastfm
from scrobctl.store import connections
from scrobctl.store.connections import SINGLE_SCROBBLES
from scrobctl.store.records import PlayRecord
from scrobctl.targets import Target

OPERATION_FAILED = 8


def next_utc_midnight(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


class LastfmSender(MusicSender):
    # The same artist, track and timestamp is one scrobble: a resend is dropped.
    service = lastfm.SERVICE
    batch_size = lastfm.MAX_SCROBBLES_PER_REQUEST

    def __init__(
        self,
        client: lastfm.LastfmClient,
        now: float,
        target: Target | None = None,
        collisions: MalojaCollisions | None = None,
        remember: Callable[[], None] | None = None,
    ) -> None:
        # A Maloja takes one scrobble a request, in the single form (services/lastfm.py).
        super().__init__(client, now, target, collisions)
        self._compatible = target is not None and target.url is not None
        # Known from an earlier run (the connection row), or learned in this one: `remember`
        # keeps it for the next runs and says so once.
        self._single_form = target is not None and target.single_scrobbles
        self._remember = remember

    def prepare(self, play: PlayRecord) -> lastfm.Scrobble:
        if not play.artist or not play.title:
            raise Rejected("needs both an artist and a track title")
        # Maloja keeps whatever it is given, however old (its database has no such rule).
        if self._collisions is None and play.watched_at < self._now - lastfm.MAX_AGE:
            raise Rejected("too old for Last.fm (it ignores plays more than 14 days old)")
        if in_future(play.watched_at, self._now):
            raise Rejected("played in the future; Last.fm ignores those")
        return lastfm.Scrobble(
            artist=play.artist,
            track=play.title,
            timestamp=play.watched_at,
            album=play.album,
            duration_s=play.duration_ms // 1000 if play.duration_ms else None,
            mbid=play.mbid,
        )

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        await lastfm.update_now_playing(self._client, payload)

    async def _send_single(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        """Maloja answers error 8 both to a resend of a stored play and to a second play in the
        same second (apis/audioscrobbler.py l.23-29): what it holds there decides which."""
        assert self._collisions is not None
        outcomes: list[Outcome] = []
        for play, scrobble in batch:
            try:
                ignored = await lastfm.scrobble_one(self._client, scrobble)
            except ServiceUnavailable:
                outcomes.append(await self._collisions.explain(play))
                continue
            outcomes.extend(self._outcomes([ignored]))
        return outcomes

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        if self._collisions is not None:
            return await self._send_single(batch)
        if self._single_form:
            return self._outcomes([await lastfm.scrobble_one(self._client, s) for _, s in batch])
        try:
            return self._outcomes(await lastfm.scrobble(self._client, [s for _, s in batch]))
        except lastfm.LastfmUnavailable as exc:
            # A batch of one is still the indexed form (`artist[0]`): a watcher's flush of
            # every single play would otherwise be retried for ever.
            if not (self._compatible and exc.code == OPERATION_FAILED):
                raise
        # A compatible server whose indexed form fails (Maloja's does, with error 8) gets the
        # single form, one scrobble a request; once that has worked, for every later run too.
        self._single_form = True
        outcomes = await self.send(batch)
        if self._remember is not None:
            self._remember()
        return outcomes

    def _outcomes(self, results: list[lastfm.Ignored | None]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for ignored in results:
            if ignored is None:
                outcomes.append(None)
            elif ignored.code == lastfm.IGNORED_DAILY_LIMIT:
                # The only ignore worth retrying, and only tomorrow (api-notes A.4).
                until = next_utc_midnight(self._now)
                outcomes.append(Later(until, "Last.fm's daily scrobble limit is reached"))
            else:
                text = f": {ignored.message}" if ignored.message else ""
                outcomes.append(Refused(f"ignored by Last.fm (code {ignored.code}{text})"))
        return outcomes


def sender(link: Link) -> LastfmSender:
    built = LastfmSender.for_link(link)
    runtime, target = link.runtime, link.target
    if target.url is not None:

        def remember() -> None:
            """Keep the fallback in the connection row, and say so once (issue 19)."""
            name, kind = target.name, target.kind
            connections.set_setting(runtime.store(), target.profile, name, SINGLE_SCROBBLES, 1)
            runtime.warn(
                f"{name}: the server at {target.url} failed the batch form of track.scrobble"
                " and took single scrobbles, so it gets one scrobble a request from now on"
                f" (remembered; `scrobctl login {kind} --name {name} --force` checks again)"
            )

        built._remember = remember
    return built
