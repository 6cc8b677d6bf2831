"""Parsing the dates users type on the command line, and showing times with their zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from scrobctl.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_EXAMPLES = "use e.g. 7d, 2w, 12h, yesterday, today or 2026-11-01"


def parse_date(
    text: str | None, option: str = "--since", *, now: datetime | None = None
) -> int | None:
    """Unix seconds for what a person types: `7d`, `2w`, `12h`, `30m` (that long ago),
    `today`, `yesterday` (local midnight), `2026-11-01`, `2026-11-01T20:00` with or without an
    offset (local time without), or Unix seconds."""
    if text is None:
        return None
    value = text.strip()
    current = now or datetime.now().astimezone()
    relative = _RELATIVE.match(value)
    if relative:
        seconds = int(relative.group(1)) * _UNITS[relative.group(2).lower()]
        return int((current - timedelta(seconds=seconds)).timestamp())
    word = value.lower()
    if word in ("now", "today", "yesterday"):
        if word == "now":
            return int(current.timestamp())
        day = current.date() - timedelta(days=1 if word == "yesterday" else 0)
        return int(datetime.combine(day, time(), tzinfo=current.tzinfo).timestamp())
    if value.isdigit() and len(value) >= 9:
        return int(value)  # Unix seconds, as `history --json` shows them
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date", _EXAMPLES) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return int(parsed.astimezone(UTC).timestamp())
