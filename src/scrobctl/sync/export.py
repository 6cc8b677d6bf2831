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
from scrobctl.runtime import Runtime
from scrobctl.services.listenbrainz import is_mbid
from scrobctl.store import connections
from scrobctl.store.ratings import ExportSummary, queue_exports

# Trakt rates all four (trakt/trakt-api contracts/sync/schema/request/ratingsParamSchema.ts).
VIDEO_RATED = {"trakt": ("movie", "show", "season", "episode"), "simkl": ("movie", "show")}
MUSIC = ("track", "podcast")


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


Converter = Callable[[sqlite3.Row], tuple[float | None, str | None]]


def converter(runtime: Runtime, service: str) -> Converter:
    settings = runtime.settings

    def video(row: sqlite3.Row) -> tuple[float | None, str | None]:
        if row["kind"] not in VIDEO_RATED[service]:
            return None, f"{service} does not rate {row['kind']}s"
        value = round_half_up(row["rating"])
        if not 1 <= value <= 10:
            return None, f"rating {row['rating']} is outside 1-10"
        return float(value), None

    def lastfm(row: sqlite3.Row) -> tuple[float | None, str | None]:
        if row["kind"] not in MUSIC:
            return None, "Last.fm only loves tracks"
        if row["rating"] < settings.lastfm.love_threshold:
            return None, f"below the love threshold ({settings.lastfm.love_threshold:g})"
        return 1.0, None

    def listenbrainz(row: sqlite3.Row) -> tuple[float | None, str | None]:
        if row["kind"] not in MUSIC:
            return None, "ListenBrainz feedback is for recordings"
        if not row["mbid"]:
            return None, "no recording MBID"
        if not is_mbid(row["mbid"]):
            # feedback_api.py answers 400 to a recording_mbid that is not a UUID.
            return None, "the recording MBID is not a valid UUID"
        lb = settings.listenbrainz
        if row["rating"] >= lb.love_threshold:
            return 1.0, None
        if row["rating"] <= lb.hate_threshold:
            return -1.0, None
        return None, f"between the thresholds ({lb.hate_threshold:g}-{lb.love_threshold:g})"

    return {"trakt": video, "simkl": video, "lastfm": lastfm, "listenbrainz": listenbrainz}[service]


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
    """A queued value as the target's kind takes it."""
    if kind == "lastfm":
        return "love"
    if kind == "listenbrainz":
        return f"feedback {value:+g}"
    return f"{value:g}/10"
