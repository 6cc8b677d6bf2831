"""`scrobctl rate ITEM RATING`: rate an item named by an external id."""

from __future__ import annotations

from dataclasses import dataclass

from scrobctl.errors import UsageError
from scrobctl.runtime import Runtime
from scrobctl.store.items import items_with_id
from scrobctl.store.ratings import set_rating

ID_KINDS = ("tmdb", "imdb", "tvdb", "trakt", "simkl", "mbid", "isrc")
MEDIA = ("movie", "show", "season", "episode", "track", "podcast")
NUMERIC = ("tmdb", "tvdb", "trakt", "simkl")


@dataclass(frozen=True)
class Rated:
    item_id: int
    kind: str
    title: str
    rating: float


def parse_item(text: str) -> tuple[str | None, str, str | int]:
    """`tmdb:603`, `movie:tmdb:603`, `mbid:<uuid>` -> (kind or None, id name, value)."""
    parts = text.split(":")
    kind = parts.pop(0) if len(parts) == 3 and parts[0] in MEDIA else None
    if len(parts) != 2 or parts[0] not in ID_KINDS or not parts[1]:
        raise UsageError(
            f"{text!r} does not name an item",
            f"use ID:VALUE with ID one of {', '.join(ID_KINDS)} (e.g. tmdb:603), optionally "
            "prefixed by the type (movie:tmdb:603)",
        )
    name, value = parts
    if name in NUMERIC:
        if not value.isdigit():
            raise UsageError(f"{name} ids are numbers, not {value!r}")
        return kind, name, int(value)
    return kind, name, value


def rate(runtime: Runtime, item: str, rating: float, profile: str) -> Rated:
    if not 1 <= rating <= 10:
        raise UsageError(f"a rating is from 1 to 10, not {rating:g}")
    kind, name, value = parse_item(item)
    store = runtime.store()
    rows = items_with_id(store.conn, kind, name, value)
    if not rows:
        raise UsageError(
            f"no item with {name} {value} in your history",
            "import or scrobble it first (`scrobctl import ...`)",
        )
    if len({r["kind"] for r in rows}) > 1:
        kinds = ", ".join(sorted({r["kind"] for r in rows}))
        raise UsageError(
            f"{name} {value} names several kinds of item ({kinds})",
            f"say which, e.g. {rows[0]['kind']}:{name}:{value}",
        )
    row = rows[0]
    with store.transaction() as conn:
        set_rating(conn, profile, row["id"], rating, int(runtime.clock.now()))
    title = row["title"] or "?"
    if row["artist"]:
        title = f"{row['artist']} - {title}"
    return Rated(row["id"], row["kind"], title, rating)
