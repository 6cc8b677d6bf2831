"""Read models shared by the store and the services: what a queued play looks like to a sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PlayRecord:
    """One play with its item, as the senders need it. Times are Unix seconds, UTC.

    `ids` are the item's own external ids (an episode's own, for episodes); `show_ids`,
    `season` and `number` place an episode within its show.
    """

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
    attempt: int = 1
    item_id: int = 0
    year: int | None = None
    ids: dict[str, Any] = field(default_factory=dict)
    show_ids: dict[str, Any] = field(default_factory=dict)
    show_title: str | None = None
    season: int | None = None
    number: int | None = None
