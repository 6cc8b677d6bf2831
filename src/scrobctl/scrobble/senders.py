"""Adapters from queued plays to each service's submit call."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from scrobctl.errors import InvalidToken, login_hint
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services import listenbrainz
from scrobctl.store.records import PlayRecord


class Rejected(ValueError):
    """The service would never accept this play; the message says why."""


class Sender(Protocol):
    service: str
    batch_size: int

    def prepare(self, play: PlayRecord) -> Any:
        """The wire form of one play, or Rejected."""
        ...

    async def send(self, payloads: list[Any]) -> None:
        """Submit one batch. Raises the typed errors from `scrobctl.errors`."""
        ...


class ListenBrainzSender:
    service = listenbrainz.SERVICE
    batch_size = listenbrainz.MAX_LISTENS_PER_REQUEST

    def __init__(self, client: listenbrainz.ListenBrainzClient, now: float) -> None:
        self._client = client
        self._now = now

    def prepare(self, play: PlayRecord) -> dict[str, Any]:
        try:
            return listenbrainz.listen_for(play, self._now)
        except listenbrainz.InvalidListen as exc:
            raise Rejected(str(exc)) from None

    async def send(self, payloads: list[Any]) -> None:
        await self._client.submit_listens(payloads)


SENDER_SERVICES = (listenbrainz.SERVICE,)


def build_sender(
    runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> Sender:
    secret = runtime.tokens().get(profile, service)
    if service == listenbrainz.SERVICE:
        if not secret or not secret.get("token"):
            raise InvalidToken(service, "no token is stored", login_hint(service, profile))
        client = listenbrainz.ListenBrainzClient(
            str(runtime.settings.listenbrainz.api_url), secret["token"], http, limiter
        )
        return ListenBrainzSender(client, runtime.clock.now())
    raise ValueError(f"no sender for {service}")
