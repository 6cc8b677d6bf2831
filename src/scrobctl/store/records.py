"""Read models shared by the store and the services: what a queued play looks like to a sender."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlayRecord:
    """One play with its item, as the senders need it. Times are Unix seconds, UTC."""

    job_id: int
    play_id: int
    kind: str
    watched_at: int
    title: str | None
    artist: str | None
    album: str | None
    duration_ms: int | None
    mbid: str | None
    isrc: str | None
