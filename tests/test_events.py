"""The stdin event contract: parsing JSON Lines / a JSON array into events or numbered errors."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from scrobctl.scrobble.events import (
    MAX_DURATION_MS,
    MAX_LINE_BYTES,
    PAUSE,
    Line,
    read_events,
    read_events_and_pauses,
)

TRACK: dict[str, Any] = {"type": "track", "title": "Hurt", "artist": "Johnny Cash"}
MOVIE: dict[str, Any] = {"type": "movie", "title": "The Matrix", "ids": {"tmdb": 603}}


def parse(data: str | bytes) -> list[Line]:
    raw = data.encode() if isinstance(data, str) else data
    return list(read_events(io.BytesIO(raw)))


def jsonl(*events: dict[str, Any] | str) -> str:
    return "\n".join(e if isinstance(e, str) else json.dumps(e) for e in events) + "\n"


def only(data: str | bytes) -> Line:
    lines = parse(data)
    assert len(lines) == 1
    return lines[0]


def error_of(event: dict[str, Any] | str) -> str:
    line = only(jsonl(event))
    assert line.event is None
    assert line.error
    return line.error


# --- framing -------------------------------------------------------------------------------------


def test_events_json_lines_parse_one_event_per_line() -> None:
    lines = parse(jsonl(TRACK, MOVIE))
    assert [line.number for line in lines] == [1, 2]
    assert [line.event.type for line in lines if line.event] == ["track", "movie"]
    assert all(line.error is None for line in lines)


def test_events_json_array_is_numbered_by_position() -> None:
    lines = parse(json.dumps([TRACK, 42, MOVIE]))
    assert [line.number for line in lines] == [1, 2, 3]
    assert lines[0].event is not None and lines[0].event.type == "track"
    assert lines[1].event is None and lines[1].error == "each event must be a JSON object"
    assert lines[2].event is not None and lines[2].event.type == "movie"


def test_events_blank_lines_are_skipped_but_still_numbered() -> None:
    lines = parse(json.dumps(TRACK) + "\n\n   \n\r\n" + json.dumps(MOVIE) + "\n\n")
    assert [(line.number, line.event is not None) for line in lines] == [(1, True), (5, True)]


def test_events_leading_blank_lines_still_count_in_line_numbers() -> None:
    lines = parse("\n\n" + jsonl("{not json", TRACK))
    assert [line.number for line in lines] == [3, 4]


def test_events_unknown_keys_are_ignored() -> None:
    line = only(jsonl({**TRACK, "player": "mpv", "ids": {"mbid": "m-1", "spotify": "x"}}))
    assert line.event is not None
    assert line.event.title == "Hurt"
    assert line.event.ids.mbid == "m-1"


def test_events_a_pause_comes_before_a_read_that_would_wait_for_input() -> None:
    """From a pipe that is open but empty, the next line may be long in coming: the reader
    says so (an ingest then commits what came before)."""
    import os

    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        os.write(write_end, (jsonl(TRACK, MOVIE)).encode())
        events = read_events_and_pauses(stream)
        first, second, pause = next(events), next(events), next(events)
        os.write(write_end, jsonl(TRACK).encode())
        os.close(write_end)
        rest = list(events)

    assert isinstance(first, Line) and isinstance(second, Line)
    assert [first.number, second.number] == [1, 2]
    assert pause is PAUSE
    assert [line.number for line in rest if isinstance(line, Line)] == [3]


def test_events_input_that_is_all_there_has_no_pause() -> None:
    lines = list(read_events_and_pauses(io.BytesIO(jsonl(TRACK, MOVIE).encode())))
    assert PAUSE not in lines and len(lines) == 2


# --- invalid lines -------------------------------------------------------------------------------


def test_events_line_that_is_not_json_is_invalid() -> None:
    assert "Invalid JSON" in error_of('{"type": "track", "title": ')


@pytest.mark.parametrize("text", ["hello", "42", '"track"', "null"])
def test_events_line_that_is_not_an_object_is_invalid(text: str) -> None:
    lines = parse(jsonl(TRACK, text))  # not first, so it is not read as an array
    assert lines[1].number == 2
    assert lines[1].event is None
    assert lines[1].error == "not a JSON object"


def test_events_line_that_is_not_utf8_is_invalid() -> None:
    line = only(b'{"type": "track", "title": "Hurt \xff", "artist": "Johnny Cash"}\n')
    assert line.event is None
    assert line.error == "not valid UTF-8"


def test_events_missing_type_is_invalid() -> None:
    assert error_of({"title": "Hurt", "artist": "Johnny Cash"}) == "type: Field required"


def test_events_unknown_type_is_invalid() -> None:
    assert error_of({**TRACK, "type": "song"}).startswith("type:")


@pytest.mark.parametrize("kind", ["track", "podcast"])
@pytest.mark.parametrize("missing", ["title", "artist"])
def test_events_music_without_title_or_artist_is_invalid(kind: str, missing: str) -> None:
    event = {"type": kind, "title": "Hurt", "artist": "Johnny Cash"}
    del event[missing]
    assert error_of(event) == f"a {kind} needs 'title' and 'artist'"


def test_events_naive_iso_time_is_invalid() -> None:
    error = error_of({**TRACK, "watched_at": "2026-11-23T20:15:00"})
    assert error.startswith("watched_at:")
    assert "offset" in error


@pytest.mark.parametrize("field", ["percentage", "duration_ms", "watched_ms", "watched_at"])
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_events_nan_and_infinity_are_invalid(field: str, constant: str) -> None:
    text = json.dumps(MOVIE)[:-1] + f', "{field}": {constant}}}'
    assert error_of(text).startswith(f"{field}:")


def test_events_nan_inside_a_json_array_is_invalid() -> None:
    line = only('[{"type": "movie", "ids": {"tmdb": 603}, "percentage": NaN}]')
    assert line.event is None
    assert line.error is not None and "NaN" in line.error


@pytest.mark.parametrize("value", [True, False])
def test_events_bool_watched_at_is_invalid(value: bool) -> None:
    assert error_of({**TRACK, "watched_at": value}).startswith("watched_at:")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_ms", -1),
        ("duration_ms", 0),
        ("duration_ms", MAX_DURATION_MS + 1),
        ("duration_ms", 10**30),
        ("watched_ms", -1),
        ("watched_ms", MAX_DURATION_MS + 1),
    ],
)
def test_events_negative_or_huge_durations_are_invalid(field: str, value: int) -> None:
    assert error_of({**TRACK, field: value}).startswith(f"{field}:")


@pytest.mark.parametrize("value", [-1, 10**13, 1e300])
def test_events_implausible_unix_time_is_invalid(value: float) -> None:
    assert error_of({**TRACK, "watched_at": value}).startswith("watched_at:")


def test_events_line_over_max_line_bytes_is_invalid() -> None:
    huge = json.dumps({**TRACK, "padding": "x" * MAX_LINE_BYTES})
    lines = parse(jsonl(TRACK, huge, MOVIE))
    assert [line.number for line in lines] == [1, 2, 3]
    assert lines[1].event is None
    assert lines[1].error == f"line longer than {MAX_LINE_BYTES} bytes"
    assert lines[2].event is not None


def test_events_bad_line_does_not_stop_following_lines() -> None:
    data = jsonl(TRACK, "{oops", {"type": "movie"}).encode() + b"\xff\n" + jsonl(MOVIE).encode()
    lines = parse(data)
    assert [(line.number, line.event is not None) for line in lines] == [
        (1, True),
        (2, False),
        (3, False),
        (4, False),
        (5, True),
    ]


# --- times ---------------------------------------------------------------------------------------


def watched_at(value: Any) -> int | None:
    line = only(jsonl({**TRACK, "watched_at": value}))
    assert line.event is not None, line.error
    return line.event.watched_at


def test_events_watched_at_iso_with_z() -> None:
    assert watched_at("2026-11-23T20:15:00Z") == 1_795_464_900


def test_events_watched_at_iso_with_numeric_offset() -> None:
    assert watched_at("2026-11-23T22:15:00+02:00") == 1_795_464_900


def test_events_watched_at_unix_seconds_int() -> None:
    assert watched_at(1_795_464_900) == 1_795_464_900


def test_events_watched_at_unix_seconds_float() -> None:
    assert watched_at(1_795_464_900.75) == 1_795_464_900


# --- ids -----------------------------------------------------------------------------------------


def test_events_numeric_ids_given_as_strings_are_coerced() -> None:
    line = only(jsonl({**MOVIE, "ids": {"tmdb": "603", "trakt": "481", "imdb": "tt0133093"}}))
    assert line.event is not None
    assert line.event.ids.tmdb == 603
    assert line.event.ids.trakt == 481
    assert line.event.ids.imdb == "tt0133093"


def test_events_non_numeric_string_for_numeric_id_is_invalid() -> None:
    assert error_of({**MOVIE, "ids": {"tmdb": "matrix"}}).startswith("ids.tmdb:")


def test_events_movie_without_any_id_is_invalid() -> None:
    error = error_of({"type": "movie", "title": "The Matrix", "year": 1999, "percentage": 92.5})
    assert "a movie needs an id" in error


def test_events_movie_with_only_music_ids_is_invalid() -> None:
    assert "a movie needs an id" in error_of({**MOVIE, "ids": {"mbid": "m-1"}})


EPISODE: dict[str, Any] = {
    "type": "episode",
    "show": {"title": "Severance", "year": 2022, "ids": {"tvdb": 371980}},
    "season": 1,
    "number": 2,
}


def test_events_episode_with_show_ids_season_and_number_is_valid() -> None:
    line = only(jsonl(EPISODE))
    assert line.event is not None
    assert line.event.show is not None and line.event.show.ids.tvdb == 371980
    assert (line.event.season, line.event.number) == (1, 2)


def test_events_episode_with_its_own_ids_is_valid() -> None:
    assert only(jsonl({"type": "episode", "ids": {"trakt": 1234}})).event is not None


@pytest.mark.parametrize(
    "change",
    [
        {"show": {"title": "Severance", "year": 2022}},  # a show title never identifies video
        {"season": None},
        {"number": None},
    ],
    ids=["no-show-ids", "no-season", "no-number"],
)
def test_events_episode_without_show_ids_season_or_number_is_invalid(
    change: dict[str, Any],
) -> None:
    event = {k: v for k, v in {**EPISODE, **change}.items() if v is not None}
    assert "an episode needs" in error_of(event)


# --- intake refuses only what no target accepts (issue #15) -------------------------------------


@pytest.mark.parametrize("album", ["", "   "])
def test_events_empty_or_blank_album_is_no_album_not_an_invalid_line(album: str) -> None:
    line = only(jsonl({**TRACK, "album": album}))
    assert line.error is None and line.event is not None and line.event.album is None


def test_events_title_longer_than_1024_characters_is_accepted() -> None:
    # ListenBrainz's limit is on bytes a listen and is its sender's to apply, per target.
    line = only(jsonl({**TRACK, "title": "t" * 1025}))
    assert line.event is not None and line.event.title == "t" * 1025


def test_events_blank_title_of_a_track_is_still_an_invalid_line() -> None:
    assert "needs 'title' and 'artist'" in error_of({**TRACK, "title": "  "})


# --- shows and seasons: rated, never played (issue 20) --------------------------------------------


def test_events_show_rating_is_an_event_of_its_own() -> None:
    line = only(jsonl({"type": "show", "ids": {"tmdb": 1399}, "rating": 9}))
    assert line.event is not None and (line.event.type, line.event.rating) == ("show", 9)


def test_events_season_rating_by_its_show_and_number() -> None:
    season = {"type": "season", "show": {"ids": {"tvdb": 121361}}, "season": 2, "rating": 7}
    line = only(jsonl(season))
    assert line.event is not None and line.event.season == 2


def test_events_show_with_play_data_is_invalid() -> None:
    show = {"type": "show", "ids": {"tmdb": 1399}, "rating": 9, "percentage": 100}
    assert "is rated, not played" in error_of(show)
    assert "is rated, not played" in error_of({"type": "show", "ids": {"tmdb": 1399}})


def test_events_season_without_ids_or_its_show_is_invalid() -> None:
    assert "a season needs" in error_of({"type": "season", "season": 1, "rating": 7})
    assert "a show needs an id" in error_of({"type": "show", "title": "GoT", "rating": 7})
