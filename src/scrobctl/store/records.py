"""Read models shared by the store and the services: what a queued play looks like to a sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VIDEO_IDS = ("tmdb", "imdb", "tvdb", "trakt", "simkl")


def video_ids(row: Any, prefix: str = "") -> dict[str, Any]:
    """The video ids a row has (`prefix`: the columns of a joined show, `s_`)."""
    return {k: row[prefix + k] for k in VIDEO_IDS if row[prefix + k] is not None}


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


def item_name(
    kind: str | None,
    title: str | None,
    artist: str | None = None,
    show: str | None = None,
    season: int | None = None,
    number: int | None = None,
    ids: dict[str, Any] | None = None,
) -> str:
    """How an item is named everywhere (queue list, history, messages): `Artist - Title`,
    `Severance S01E02`, `The Matrix`; an id where the title is unknown, never `?`."""
    known_id = next((f"{k}:{v}" for k, v in (ids or {}).items() if v is not None), None)
    if kind in ("track", "podcast"):
        return f"{artist or 'unknown artist'} - {title or 'unknown title'}"
    if kind == "episode" and season is not None:
        where = f"S{season:02d}E{number or 0:02d}"
        return f"{show or title or known_id or 'unknown show'} {where}"
    if kind == "season" and season is not None:
        return f"{show or known_id or 'unknown show'} S{season:02d}"
    return title or known_id or f"unknown {kind or 'item'}"
