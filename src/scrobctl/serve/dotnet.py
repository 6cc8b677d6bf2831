"""What the two .NET media servers' webhooks share: Jellyfin began as a fork of Emby (3.5,
2018), and both still name item types by C# class, give lengths and positions in .NET ticks,
key provider ids by the provider's name, and end a play with `PlayedToCompletion` and a
position. Each server's own field names stay in `serve/jellyfin.py` and `serve/emby.py`.
"""

from __future__ import annotations

from typing import Any

from scrobctl.serve.common import Parsed, as_int, as_text

KINDS = {"Movie": "movie", "Episode": "episode", "Audio": "track"}  # ItemType / Item.Type
TICKS_PER_MS = 10_000  # .NET ticks: 100 ns each


def as_bool(value: Any) -> bool:
    """JSON true, or the "True"/"true" strings a .NET template renders (Jellyfin)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def ticks_to_ms(value: Any) -> int | None:
    """.NET ticks as milliseconds; positions beyond 32 bits are common (Emby)."""
    ticks = as_int(value)
    if ticks is None or ticks <= 0:
        return None
    return ticks // TICKS_PER_MS


def stop(base: dict[str, Any], completed: Any, position_ticks: Any) -> Parsed:
    """A playback stop: played to completion is a whole play, a position says how far it got,
    and neither (stopped at 0, or no position sent) is not a play."""
    if as_bool(completed):
        return Parsed([{**base, "event": "stop", "percentage": 100.0}])
    position = ticks_to_ms(position_ticks)
    if position is None:
        return Parsed([{**base, "event": "pause"}])
    return Parsed([{**base, "event": "stop", "watched_ms": position}])


def video(
    kind: str, providers: dict[str, Any], year: Any, show: str | None, season: Any, number: Any
) -> dict[str, Any]:
    """A movie's or an episode's ids, year and (episodes) show and numbers. `providers` are
    the item's own ids keyed in lower case (an episode's are the episode's); values are
    strings on both servers."""
    ids: dict[str, Any] = {}
    for key in ("tmdb", "tvdb"):
        value = as_int(providers.get(key))
        if value and value > 0:
            ids[key] = value
    imdb = as_text(providers.get("imdb"))
    if imdb and imdb.startswith("tt"):
        ids["imdb"] = imdb
    fields: dict[str, Any] = {"ids": ids}
    made = as_int(year)
    if made and 1870 <= made <= 9999:
        fields["year"] = made
    if kind == "episode":
        fields["show"] = {"title": show}
        fields["season"] = as_int(season)
        fields["number"] = as_int(number)
    return fields
