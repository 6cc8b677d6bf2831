"""Scrobble thresholds (DESIGN.md "Thresholds"): when a play counts.

| type           | media at least | played enough when |
| track          | 30 s           | >= 50 % or >= 4 min |
| podcast        | 5 min          | >= 80 %             |
| movie, episode | 10 min         | >= 80 %             |
"""

from __future__ import annotations

from dataclasses import dataclass

from scrobctl.scrobble.events import Event

# How far ahead of this machine's clock a play may start, for ingest, now-playing and every
# sender alike (issue #16: ingest took +300 s, Last.fm refused beyond +60 s, so plays at +100 s
# were queued and then refused for ever). Last.fm ignores "timestamp too new" (api-notes A.4,
# code 4) and ListenBrainz allows an hour (API_LISTENED_AT_ALLOWED_SKEW), so a minute suits all.
MAX_FUTURE_SECONDS = 60


def in_future(watched_at: float, now: float) -> bool:
    """True when a play starts later than any service will take from us now."""
    return watched_at > now + MAX_FUTURE_SECONDS


@dataclass(frozen=True)
class Threshold:
    min_duration_ms: int
    min_percentage: float
    or_played_ms: int | None = None


THRESHOLDS: dict[str, Threshold] = {
    "track": Threshold(30_000, 50.0, or_played_ms=240_000),
    "podcast": Threshold(300_000, 80.0),
    "movie": Threshold(600_000, 80.0),
    "episode": Threshold(600_000, 80.0),
}


class NeedsDuration(ValueError):
    """The event cannot be judged: without `duration_ms` the minimum length is unknown."""


def below_threshold(event: Event) -> str | None:
    """Why the play does not count, or None when it does."""
    rule = THRESHOLDS[event.type]
    played = event.played_ms()
    duration = event.duration_ms
    if rule.or_played_ms is not None and played is not None and played >= rule.or_played_ms:
        # Four minutes played proves the track is longer than the 30 s minimum.
        return None
    if duration is None:
        if event.percentage is None and event.watched_ms is None:
            raise NeedsDuration("needs 'percentage' or 'watched_ms' (with 'duration_ms')")
        raise NeedsDuration(f"needs 'duration_ms' to check a {event.type}'s minimum length")
    if played is None:
        raise NeedsDuration("needs 'percentage' or 'watched_ms'")
    if duration < rule.min_duration_ms:
        return f"shorter than {rule.min_duration_ms // 1000} s"
    if event.percentage is not None:
        enough = event.percentage >= rule.min_percentage
    else:  # integers, so 50 % of an odd length is judged exactly
        enough = played * 100 >= rule.min_percentage * duration
    if enough:
        return None
    percentage = event.played_percentage() or 0.0
    if rule.or_played_ms is not None:
        return f"played {percentage:.0f} %, under {rule.min_percentage:.0f} % and under 4 min"
    return f"played {percentage:.0f} %, under {rule.min_percentage:.0f} %"
