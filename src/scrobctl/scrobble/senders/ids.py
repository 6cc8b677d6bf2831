"""Comparing external id sets, as services echo them back (sometimes as strings)."""

from __future__ import annotations

from typing import Any


def id_key(ids: dict[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset((k, str(v)) for k, v in ids.items() if v is not None)


def same_item(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two id sets name the same thing when any id they both carry agrees."""
    return any(str(a[k]) == str(b[k]) for k in a.keys() & b.keys() if a[k] is not None)
