"""`export ratings`: queue the local ratings a service does not have yet, in its own terms.

Conversions (the rating scale is 1-10 everywhere locally):
- Trakt and Simkl take integers 1-10: fractions round half up (7.5 -> 8). Values outside 1-10
  never reach them (Simkl would silently drop them).
- Last.fm only loves: a rating at or above `lastfm.love_threshold` (default 8) is a love.
- ListenBrainz feedback: at or above `listenbrainz.love_threshold` (8) is +1, at or below
  `listenbrainz.hate_threshold` (3) is -1; it needs the recording's MBID.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable

from scrobctl import targets
from scrobctl.errors import UsageError
from scrobctl.kinds import Kind
from scrobctl.runtime import Runtime
from scrobctl.services.listenbrainz import is_mbid
from scrobctl.store import connections
from scrobctl.store.ratings import ExportSummary, queue_exports

MUSIC = ("track", "podcast")


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


Converter = Callable[[sqlite3.Row], tuple[float | None, str | None]]


def converter(runtime: Runtime, kind: str) -> Converter:
    """How a rating in the archive becomes one the kind takes (kinds.py `rating_export`)."""
    from scrobctl import kinds

    return kinds.load(kinds.kind(kind).rating_export)(runtime, kinds.kind(kind))


def video(runtime: Runtime, kind: Kind) -> Converter:
    """Whole points 1-10 for the item types the kind rates."""

    def convert(row: sqlite3.Row) -> tuple[float | None, str | None]:
        if row["kind"] not in kind.rates:
            return None, f"{kind.name} does not rate {row['kind']}s"
        value = round_half_up(row["rating"])
        if not 1 <= value <= 10:
            return None, f"rating {row['rating']} is outside 1-10"
        return float(value), None

    return convert


def loves(runtime: Runtime, kind: Kind) -> Converter:
    """A love at or above the threshold (Last.fm's only rating-like signal)."""
    threshold = runtime.settings.lastfm.love_threshold

    def convert(row: sqlite3.Row) -> tuple[float | None, str | None]:
        if row["kind"] not in MUSIC:
            return None, "Last.fm only loves tracks"
        if row["rating"] < threshold:
            return None, f"below the love threshold ({threshold:g})"
        return 1.0, None

    return convert


def feedback(runtime: Runtime, kind: Kind) -> Converter:
    """Love (+1) or hate (-1) of a recording, by the two thresholds."""
    lb = runtime.settings.listenbrainz

    def convert(row: sqlite3.Row) -> tuple[float | None, str | None]:
        if row["kind"] not in MUSIC:
            return None, "ListenBrainz feedback is for recordings"
        if not row["mbid"]:
            return None, "no recording MBID"
        if not is_mbid(row["mbid"]):
            # feedback_api.py answers 400 to a recording_mbid that is not a UUID.
            return None, "the recording MBID is not a valid UUID"
        if row["rating"] >= lb.love_threshold:
            return 1.0, None
        if row["rating"] <= lb.hate_threshold:
            return -1.0, None
        return None, f"between the thresholds ({lb.hate_threshold:g}-{lb.love_threshold:g})"

    return convert


def export_ratings(
    runtime: Runtime,
    to: str,
    profile: str,
    *,
    source: str | None = None,
    since: int | None = None,
    dry_run: bool = False,
) -> ExportSummary:
    store = runtime.store()
    connection = connections.get_connection(store, profile, to)
    if connection is None:
        raise UsageError(f"not logged in to {to}", f"run `scrobctl login {to}` first")
    target = targets.from_connection(connection)
    if not target.has_loves:
        raise UsageError(f"{target.label} takes no ratings, loves or feedback; nothing was queued")
    summary = queue_exports(
        store,
        profile,
        to,
        convert=converter(runtime, target.kind),
        source=source,
        since=since,
        dry_run=dry_run,
        now=runtime.clock.now(),
    )
    summary.kind = target.kind
    return summary


def shown_value(kind: str, value: float) -> str:
    """A queued value as the target's kind takes it (its registry entry says how)."""
    from scrobctl.kinds import kind as find_kind

    return find_kind(kind).shown_rating.format(value=value)
