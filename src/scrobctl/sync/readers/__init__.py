"""One history reader per service: its pages, turned into ImportedPlay and ImportedRating."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def parse_time(value: Any) -> int | None:
    """ISO-8601 with Z/offset, or Unix seconds (int or digit string), to Unix seconds."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp()) if parsed.tzinfo else None


def int_id(value: Any) -> int | None:
    """Numeric ids arrive as ints (Trakt) or strings (Simkl: "603")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = str(value).strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def video_ids(raw: Any) -> dict[str, Any]:
    """The ids we keep (tmdb, imdb, tvdb, trakt, simkl) from a service's ids object."""
    if not isinstance(raw, dict):
        return {}
    ids: dict[str, Any] = {}
    for key in ("tmdb", "tvdb", "trakt", "simkl"):
        value = int_id(raw.get(key))
        if value is not None:
            ids[key] = value
    imdb = raw.get("imdb")
    if isinstance(imdb, str) and imdb.strip():
        ids["imdb"] = imdb.strip()
    return ids
