"""Adapters from queued plays to each service's submit call, with per-play outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

from scrobctl.http import ServiceLimiter
from scrobctl.kinds import KINDS, Link, build
from scrobctl.runtime import Runtime
from scrobctl.store.records import PlayRecord


class Rejected(ValueError):
    """Raised by `prepare`: the service would never accept this play; the message says why."""


@dataclass(frozen=True)
class Refused:
    """The service answered that it will not record this play."""

    reason: str


@dataclass(frozen=True)
class Later:
    """The service will take this play, but not before `until` (e.g. a daily cap)."""

    until: float
    reason: str


Outcome = Refused | Later | None  # None: recorded


class Sender(Protocol):
    service: str
    batch_size: int
    # True where the service drops an identical resend (ListenBrainz, Last.fm); elsewhere a play
    # that may already have reached it is looked up before it is sent again.
    deduplicates: bool

    def prepare(self, play: PlayRecord) -> Any:
        """The wire form of one play, or Rejected."""
        ...

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        """Job ids of plays the service already has (asked only for plays sent before)."""
        ...

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        """Submit one batch; one outcome per play, in order. Raises the typed errors."""
        ...

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        """Show `play` as playing now; `payload` is what `prepare` made of it."""
        ...


class Named(Protocol):
    service: str


N = TypeVar("N", bound=Named)


def for_target(part: N, link: Link) -> N:
    """`part` answering to the link's target: its jobs carry the target's name, so a second
    target of a kind (issue 19) keeps its own."""
    part.service = link.target.name
    return part


SENDER_SERVICES = tuple(KINDS)  # the kinds' default targets


async def build_sender(
    runtime: Runtime, service: str, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> Sender:
    """The sender for a target (`service` is its name), with fresh credentials (a Trakt token is
    refreshed here), chosen by the target's kind (kinds.py)."""
    return await build("sender", runtime, service, profile, http, limiter)
