"""Judging a single play a Maloja refused, by what it holds at that second."""

from __future__ import annotations

import httpx

from scrobctl.errors import ServiceUnavailable
from scrobctl.http import ServiceLimiter
from scrobctl.scrobble.senders import Outcome, Refused
from scrobctl.services import maloja
from scrobctl.store.records import PlayRecord


class MalojaCollisions:
    """Why a Maloja refused a single play: another scrobble at that second, or a real failure."""

    def __init__(
        self, http: httpx.AsyncClient, limiter: ServiceLimiter, api_url: str, name: str
    ) -> None:
        self._http = http
        self._limiter = limiter
        self._url = api_url
        self._name = name

    async def explain(self, play: PlayRecord) -> Outcome:
        """None when Maloja holds this play at its second; Refused when it holds another one
        there (it keeps one scrobble a second); the failure again when it holds nothing."""
        stored = await maloja.stored_at(self._http, self._limiter, self._url, play.watched_at)
        if stored is None:
            raise ServiceUnavailable(
                self._name, "Maloja failed to store a play", "it will be retried later"
            )
        if maloja.same_track(stored, play.artist or "", play.title or ""):
            return None
        return Refused(
            f"Maloja keeps one scrobble a second and already has {stored.describe()} at this one"
        )
