"""ListenBrainz: `import` submissions of up to 1000 listens."""

from __future__ import annotations

from typing import Any

import httpx

from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import Outcome, Rejected
from scrobctl.services import listenbrainz
from scrobctl.store.records import PlayRecord


class ListenBrainzSender:
    service = listenbrainz.SERVICE
    batch_size = listenbrainz.MAX_LISTENS_PER_REQUEST
    deduplicates = True  # an identical listen is dropped by the listen store (api-notes B.5)

    def __init__(self, client: listenbrainz.ListenBrainzClient, now: float) -> None:
        self._client = client
        self._now = now

    def prepare(self, play: PlayRecord) -> dict[str, Any]:
        try:
            return listenbrainz.listen_for(play, self._now)
        except listenbrainz.InvalidListen as exc:
            raise Rejected(str(exc)) from None

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        return set()

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        await self._client.playing_now(payload)

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        await self._client.submit_listens([listen for _, listen in batch])
        return [None] * len(batch)


def build(
    runtime: Runtime, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> ListenBrainzSender:
    secret = runtime.secret(profile, listenbrainz.SERVICE, "token")
    client = listenbrainz.ListenBrainzClient(
        str(runtime.settings.listenbrainz.api_url), secret["token"], http, limiter
    )
    return ListenBrainzSender(client, runtime.clock.now())
