"""Comparing external id sets, as services echo them back (sometimes as strings)."""

from __future__ import annotations

from typing import Any


def id_key(ids: dict[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset((k, str(v)) for k, v in ids.items() if v is not None)


def same_item(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two id sets name the same thing when any id they both carry agrees."""
    return any(str(a[k]) == str(b[k]) for k in a.keys() & b.keys() if a[k] is not None)


def scrobble_item(kind: str, data: Any) -> dict[str, Any]:
    """The item object of a Trakt/Simkl `scrobble/*` body, from a prepared history entry."""
    if kind == "movies":
        return {"movie": {"ids": data["ids"]}}
    if kind == "episodes":
        return {"episode": {"ids": data["ids"]}}
    show_ids, season, number, _ = data
    return {"show": {"ids": show_ids}, "episode": {"season": season, "number": number}}


def group_shows(entries: list[tuple[dict[str, Any], int, int, str]]) -> list[dict[str, Any]]:
    """Episodes given by (show ids, season, number, watched_at) nested as Trakt and Simkl take
    them: shows -> seasons -> episodes."""
    shows: dict[frozenset[tuple[str, str]], dict[str, Any]] = {}
    for show_ids, season, number, when in entries:
        show = shows.setdefault(id_key(show_ids), {"ids": show_ids, "seasons": []})
        match = next((s for s in show["seasons"] if s["number"] == season), None)
        if match is None:
            match = {"number": season, "episodes": []}
            show["seasons"].append(match)
        match["episodes"].append({"number": number, "watched_at": when})
    return list(shows.values())
