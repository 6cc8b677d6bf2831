"""What the Last.fm and ListenBrainz senders share: kinds with compatible servers."""

from __future__ import annotations

from typing import Any, Self

from scrobctl.kinds import MALOJA, Link
from scrobctl.scrobble.senders.maloja import MalojaCollisions
from scrobctl.store.records import PlayRecord
from scrobctl.targets import Target


class MusicSender:
    """A target of the kind takes its own name and its server type's batch size; a Maloja's
    refusals are looked into (`collisions`). Both services drop an identical resend, so
    nothing is looked up before a play is sent again."""

    service: str
    batch_size: int
    deduplicates = True

    def __init__(
        self,
        client: Any,
        now: float,
        target: Target | None = None,
        collisions: MalojaCollisions | None = None,
    ) -> None:
        self._client = client
        self._now = now
        self._collisions = collisions
        if target is not None:
            self.service = target.name
            self.batch_size = target.batch_size(type(self).batch_size)

    @classmethod
    def for_link(cls, link: Link) -> Self:
        target = link.target
        collisions = None
        if target.server == MALOJA:
            url = target.api_url(link.runtime)
            collisions = MalojaCollisions(link.http, link.limiter, url, target.name)
        return cls(link.client, link.runtime.clock.now(), target, collisions)

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        return set()
