"""How an item is named in every list and message, and which video ids a row holds.

Apart from records.py (the senders' read model) so that `history` and `explain` need no
dataclass they never build (issue #25).
"""

from __future__ import annotations

from typing import Any

VIDEO_IDS = ("tmdb", "imdb", "tvdb", "trakt", "simkl")


def video_ids(row: Any, prefix: str = "") -> dict[str, Any]:
    """The video ids a row has (`prefix`: the columns of a joined show, `s_`)."""
    return {k: row[prefix + k] for k in VIDEO_IDS if row[prefix + k] is not None}


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
