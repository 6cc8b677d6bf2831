"""Parsing the dates users type on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

from scrobctl.errors import UsageError


def parse_date(text: str | None, option: str = "--since") -> int | None:
    """`2026-11-01`, `2026-11-01T20:00`, with or without an offset (local time without)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date", "use e.g. 2026-11-01") from None
    if value.tzinfo is None:
        value = value.astimezone()
    return int(value.astimezone(UTC).timestamp())
