"""One history reader per service: its pages, turned into ImportedPlay and ImportedRating."""

from __future__ import annotations

from datetime import datetime
from typing import Any

LATEST = 253_402_300_799  # 9999-12-31


def parse_time(value: Any) -> int | None:
    """ISO-8601 with Z/offset, or Unix seconds (int or digit string), to Unix seconds; None for
    anything else, including times outside 1970-9999."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            seconds = float(value)
        elif str(value).strip().isdigit():
            seconds = float(str(value).strip())
        else:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                return None
            seconds = parsed.timestamp()
    except (ValueError, OverflowError):
        return None
    if not 0 <= seconds <= LATEST:  # also refuses NaN
        return None
    return int(seconds)


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
