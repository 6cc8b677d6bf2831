"""Scrobble thresholds (DESIGN.md "Thresholds"), each at its exact edge."""

from __future__ import annotations

from typing import Any

import pytest

from scrobctl.scrobble.events import Event
from scrobctl.scrobble.rules import NeedsDuration, below_threshold

MIN = 60_000


def event(kind: str = "track", **fields: Any) -> Event:
    base: dict[str, Any] = {"type": kind}
    if kind in ("track", "podcast"):
        base |= {"title": "Hurt", "artist": "Johnny Cash"}
    elif kind == "movie":
        base["ids"] = {"tmdb": 603}
    else:
        base |= {"show": {"ids": {"tvdb": 371980}}, "season": 1, "number": 2}
    return Event.model_validate(base | fields)


def counts(kind: str = "track", **fields: Any) -> bool:
    return below_threshold(event(kind, **fields)) is None


# --- track: 30 s minimum, 50 % or 4 min ----------------------------------------------------------


def test_rules_track_just_under_30_seconds_does_not_count() -> None:
    reason = below_threshold(event(duration_ms=29_999, watched_ms=29_999))
    assert reason == "shorter than 30 s"


def test_rules_track_of_exactly_30_seconds_counts() -> None:
    assert counts(duration_ms=30_000, watched_ms=30_000)


def test_rules_track_at_exactly_half_counts() -> None:
    assert counts(duration_ms=200_000, watched_ms=100_000)


def test_rules_track_just_under_half_does_not_count() -> None:
    reason = below_threshold(event(duration_ms=200_000, watched_ms=99_999))
    assert reason is not None and "under 50 %" in reason


def test_rules_track_half_of_an_odd_length_is_judged_exactly() -> None:
    assert counts(duration_ms=30_001, watched_ms=15_001)
    assert not counts(duration_ms=30_001, watched_ms=15_000)


def test_rules_track_percentage_of_exactly_50_counts() -> None:
    assert counts(duration_ms=200_000, percentage=50.0)


def test_rules_track_percentage_just_under_50_does_not_count() -> None:
    assert not counts(duration_ms=200_000, percentage=49.999)


def test_rules_track_four_minutes_played_counts_under_half() -> None:
    assert counts(duration_ms=10 * MIN, watched_ms=4 * MIN)


def test_rules_track_just_under_four_minutes_and_under_half_does_not_count() -> None:
    reason = below_threshold(event(duration_ms=10 * MIN, watched_ms=4 * MIN - 1))
    assert reason is not None and "under 4 min" in reason


def test_rules_track_four_minutes_played_counts_without_duration() -> None:
    assert counts(watched_ms=4 * MIN)


# --- podcast: 5 min minimum, 80 % ---------------------------------------------------------------


def test_rules_podcast_just_under_5_minutes_does_not_count() -> None:
    assert below_threshold(event("podcast", duration_ms=5 * MIN - 1, percentage=100)) == (
        "shorter than 300 s"
    )


def test_rules_podcast_of_exactly_5_minutes_at_80_percent_counts() -> None:
    assert counts("podcast", duration_ms=5 * MIN, watched_ms=4 * MIN)


def test_rules_podcast_just_under_80_percent_does_not_count() -> None:
    reason = below_threshold(event("podcast", duration_ms=5 * MIN, watched_ms=4 * MIN - 1))
    assert reason is not None and "under 80 %" in reason


def test_rules_podcast_has_no_four_minute_rule() -> None:
    assert not counts("podcast", duration_ms=60 * MIN, watched_ms=30 * MIN)


# --- movie and episode: 10 min minimum, 80 % ----------------------------------------------------


@pytest.mark.parametrize("kind", ["movie", "episode"])
def test_rules_video_just_under_10_minutes_does_not_count(kind: str) -> None:
    assert below_threshold(event(kind, duration_ms=10 * MIN - 1, percentage=100)) == (
        "shorter than 600 s"
    )


@pytest.mark.parametrize("kind", ["movie", "episode"])
def test_rules_video_of_exactly_10_minutes_at_80_percent_counts(kind: str) -> None:
    assert counts(kind, duration_ms=10 * MIN, watched_ms=8 * MIN)


@pytest.mark.parametrize("kind", ["movie", "episode"])
def test_rules_video_just_under_80_percent_does_not_count(kind: str) -> None:
    reason = below_threshold(event(kind, duration_ms=10 * MIN, watched_ms=8 * MIN - 1))
    assert reason is not None and "under 80 %" in reason


@pytest.mark.parametrize("kind", ["movie", "episode"])
def test_rules_video_percentage_of_exactly_80_counts(kind: str) -> None:
    assert counts(kind, duration_ms=136 * MIN, percentage=80.0)


@pytest.mark.parametrize("kind", ["movie", "episode"])
def test_rules_video_percentage_just_under_80_does_not_count(kind: str) -> None:
    assert not counts(kind, duration_ms=136 * MIN, percentage=79.999)


@pytest.mark.parametrize("kind", ["movie", "episode"])
def test_rules_video_four_minutes_played_does_not_count(kind: str) -> None:
    assert not counts(kind, duration_ms=10 * MIN, watched_ms=4 * MIN)


# --- derivation ---------------------------------------------------------------------------------


def test_rules_played_ms_is_derived_from_percentage_and_duration() -> None:
    assert event("movie", duration_ms=8_160_000, percentage=92.5).played_ms() == 7_548_000


def test_rules_percentage_is_derived_from_watched_ms_and_duration() -> None:
    assert event(duration_ms=200_000, watched_ms=150_000).played_percentage() == 75.0


def test_rules_derived_percentage_is_capped_at_100() -> None:
    assert event(duration_ms=200_000, watched_ms=250_000).played_percentage() == 100.0


# --- cannot be judged ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["podcast", "movie", "episode"])
def test_rules_missing_duration_raises_needs_duration(kind: str) -> None:
    with pytest.raises(NeedsDuration, match=f"needs 'duration_ms' to check a {kind}'s minimum"):
        below_threshold(event(kind, percentage=95.0))


def test_rules_track_under_four_minutes_without_duration_raises_needs_duration() -> None:
    with pytest.raises(NeedsDuration, match="needs 'duration_ms'"):
        below_threshold(event(watched_ms=4 * MIN - 1))


@pytest.mark.parametrize("kind", ["track", "podcast", "movie", "episode"])
def test_rules_neither_percentage_nor_watched_ms_raises_needs_duration(kind: str) -> None:
    with pytest.raises(NeedsDuration, match="needs 'percentage' or 'watched_ms'"):
        below_threshold(event(kind, duration_ms=60 * MIN))


def test_rules_nothing_at_all_raises_needs_duration() -> None:
    with pytest.raises(NeedsDuration, match="needs 'percentage' or 'watched_ms'"):
        below_threshold(event("movie"))
