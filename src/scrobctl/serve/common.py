"""What every source format shares: the authenticated source, the bad-body error and the
small coercions that media servers' loosely typed bodies need."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


class BadBody(ValueError):
    """The request body cannot be read as its format; the message says why (answered 400)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Who sent a request: the token's name, the profile its plays belong to and, for media
    servers that report every user's playback, the one account to keep (None: all)."""

    name: str
    profile: str = "default"
    account: str | None = None

    def wants(self, *names: object) -> bool:
        """Whether a media server's user (any of its names or ids) is this source's account."""
        if self.account is None:
            return True
        wanted = self.account.casefold()
        return any(isinstance(n, str | int) and str(n).casefold() == wanted for n in names)


@dataclass
class Parsed:
    """Playback events (dicts in the `scrobctl scrobble` contract) read from one request, or
    why the request holds none worth recording (another user's play, a library event)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: str | None = None


def ignored(reason: str) -> Parsed:
    return Parsed([], reason)


def load_json_object(raw: bytes | str, what: str = "body") -> dict[str, Any]:
    """A JSON object, or BadBody naming what is wrong (NaN and friends are not JSON)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadBody(f"the {what} is not valid UTF-8") from None
    if not raw.strip():
        raise BadBody(f"the {what} is empty")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise BadBody(f"the {what} is not valid JSON ({_short(exc)})") from None
    if not isinstance(data, dict):
        raise BadBody(f"the {what} must be a JSON object")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _short(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]


def as_int(value: Any) -> int | None:
    """An integer from a number or a numeric string ("00042", "1.5E10"); None when absent,
    empty or not a finite number. Booleans are not numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if math.isfinite(number) else None
    return None


def as_text(value: Any) -> str | None:
    """A non-empty stripped string, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
