"""ListenBrainz: `import` submissions of up to 1000 listens; to a Maloja, one listen a request."""

from __future__ import annotations

from typing import Any

from scrobctl.errors import ServiceUnavailable
from scrobctl.kinds import Link
from scrobctl.scrobble.senders import Outcome, Rejected
from scrobctl.scrobble.senders.music import MusicSender
from scrobctl.services import listenbrainz
from scrobctl.store.records import PlayRecord


class ListenBrainzSender(MusicSender):
    # An identical listen is dropped by the listen store (api-notes B.5).
    service = listenbrainz.SERVICE
    batch_size = listenbrainz.MAX_LISTENS_PER_REQUEST

    def prepare(self, play: PlayRecord) -> dict[str, Any]:
        try:
            listen = listenbrainz.listen_for(play, self._now)
        except listenbrainz.InvalidListen as exc:
            raise Rejected(str(exc)) from None
        info = listen["track_metadata"]["additional_info"]
        if self._collisions is not None and "duration_ms" in info:
            # Maloja reads `duration` in seconds, not `duration_ms` (apis/listenbrainz.py l.83).
            info["duration"] = info["duration_ms"] // 1000
        return listen

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        await self._client.playing_now(payload)

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        if self._collisions is None:
            await self._client.submit_listens([listen for _, listen in batch])
            return [None] * len(batch)
        return [await self._send_one(play, listen) for play, listen in batch]

    async def _send_one(self, play: PlayRecord, listen: dict[str, Any]) -> Outcome:
        """One listen to a Maloja: 200 means stored (or already there, which Maloja answers ok
        too); a failure is looked into before it counts as one."""
        assert self._collisions is not None
        try:
            await self._client.submit_listens([listen])
        except ServiceUnavailable:
            return await self._collisions.explain(play)
        return None


def sender(link: Link) -> ListenBrainzSender:
    return ListenBrainzSender.for_link(link)
