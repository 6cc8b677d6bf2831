"""What each player's own report becomes: MPD's status and currentsong, playerctl's lines,
cmus's arguments and the play kept between its calls."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scrobctl.scrobble.events import Event
from scrobctl.watch import cmus, playerctl
from scrobctl.watch.mpd import snapshot as mpd_snapshot

T0 = 1_795_000_000.0


def test_mpd_snapshot_reads_state_elapsed_duration_and_tags() -> None:
    status = {"state": "play", "songid": "3", "elapsed": "12.5", "duration": "40.000"}
    song = {
        "file": "a/b.flac",
        "title": "Hurt",
        "artist": ["Johnny Cash", "Rick Rubin"],  # a repeated tag, as python-mpd2 gives it
        "album": "American IV",
        "musicbrainz_trackid": "9f1c3f6c-0f1a-4a4c-9d37-0d5f1b3c2a11",
        "id": "3",
    }
    snap = mpd_snapshot(status, song)
    assert snap.state == "playing" and snap.position == 12.5
    assert snap.song is not None
    assert (snap.song.key, snap.song.duration) == ("a/b.flac", 40.0)
    assert snap.song.artist == "Johnny Cash, Rick Rubin"
    assert snap.song.mbid == "9f1c3f6c-0f1a-4a4c-9d37-0d5f1b3c2a11"


@pytest.mark.parametrize("state", ["stop", "", "bogus"])
def test_mpd_snapshot_anything_but_play_or_pause_is_stopped(state: str) -> None:
    snap = mpd_snapshot({"state": state}, {"file": "a.flac", "title": "t", "artist": "a"})
    assert snap.state == "stopped" and snap.song is None


def test_mpd_snapshot_falls_back_to_the_album_artist() -> None:
    snap = mpd_snapshot(
        {"state": "pause", "elapsed": "1"}, {"file": "x", "title": "t", "albumartist": "AA"}
    )
    assert snap.state == "paused" and snap.song is not None and snap.song.artist == "AA"


LINE = "spotify\tPlaying\t20000000\t218000000\tJohnny Cash\tHurt\tAmerican IV\t'/t/1'\t"


def test_playerctl_line_reads_microseconds_and_tags() -> None:
    parsed = playerctl.parse(LINE)
    assert parsed is not None
    assert (parsed.player, parsed.status, parsed.position, parsed.length) == (
        "spotify",
        "Playing",
        20.0,
        218.0,
    )
    snap = parsed.snapshot()
    assert snap.state == "playing" and snap.song is not None and snap.song.title == "Hurt"


def test_playerctl_empty_line_means_no_player() -> None:
    assert playerctl.parse("") is None


def test_playerctl_line_with_a_tab_in_a_title_is_refused() -> None:
    with pytest.raises(ValueError, match="9 tab-separated fields"):
        playerctl.parse(LINE.replace("Hurt", "Hu\trt"))


def test_playerctl_format_names_every_field_parse_reads() -> None:
    assert playerctl.FORMAT.count("\t") == len(playerctl.VARIABLES) - 1
    assert "{{position}}" in playerctl.FORMAT and "{{mpris:length}}" in playerctl.FORMAT


def test_playerctl_one_shot_is_the_play_so_far_and_now_playing() -> None:
    parsed = playerctl.parse(LINE)
    assert parsed is not None
    stop, start = (Event.model_validate(e) for e in playerctl.one_shot(parsed, T0))
    assert (stop.event, stop.watched_ms, stop.watched_at) == ("stop", 20_000, int(T0 - 20))
    assert (start.event, start.watched_at, start.duration_ms) == ("start", int(T0 - 20), 218_000)


def test_playerctl_one_shot_of_a_paused_player_announces_nothing() -> None:
    parsed = playerctl.parse(LINE.replace("Playing", "Paused"))
    assert parsed is not None
    assert [e["event"] for e in playerctl.one_shot(parsed, T0)] == ["stop"]


def test_playerctl_read_lines_accounts_for_every_line() -> None:
    stream = io.BytesIO(
        (LINE + "\n" + "spotify\tStopped\t0\t\t\t\t\t\t\n" + "just words\n").encode()
    )
    lines = list(playerctl.read_lines(stream, T0))
    assert [(line.number, line.event.event if line.event else None) for line in lines] == [
        (1, "stop"),
        (1, "start"),
        (2, None),
        (3, None),
    ]
    assert lines[2].error == "spotify is not playing anything"
    assert "tab-separated" in (lines[3].error or "")


ARGS = ["status", "playing", "file", "/m/a.flac", "artist", "The Testers", "title", "Song A"]
ARGS += ["album", "Silence", "duration", "40"]


def test_cmus_arguments_become_a_snapshot() -> None:
    snap = cmus.snapshot([*ARGS, "position", "12"])
    assert snap.state == "playing" and snap.position == 12.0
    assert snap.song is not None
    assert (snap.song.key, snap.song.title, snap.song.duration) == ("/m/a.flac", "Song A", 40.0)


def test_cmus_play_is_kept_between_calls_and_pauses_do_not_count(tmp_path: Path) -> None:
    events = cmus.observe(tmp_path, ARGS, T0)
    assert [e["event"] for e in events] == ["start"]
    assert cmus.observe(tmp_path, ["status", "paused", *ARGS[2:]], T0 + 10) == []
    assert cmus.observe(tmp_path, ARGS, T0 + 70) == []
    [stop] = cmus.observe(tmp_path, ["status", "stopped"], T0 + 85)
    assert (stop["watched_ms"], stop["watched_at"]) == (25_000, int(T0))
    assert (tmp_path / cmus.STATE_NAME).read_text() == "null"


def test_cmus_exiting_ends_the_play(tmp_path: Path) -> None:
    cmus.observe(tmp_path, ARGS, T0)
    [stop] = cmus.observe(tmp_path, ["status", "exiting"], T0 + 30)
    assert stop["event"] == "stop" and stop["watched_ms"] == 30_000


def test_cmus_position_going_back_is_a_repeat(tmp_path: Path) -> None:
    cmus.observe(tmp_path, [*ARGS, "position", "0"], T0)
    events = cmus.observe(tmp_path, [*ARGS, "position", "1"], T0 + 41)
    assert [e["event"] for e in events] == ["stop", "start"]
    assert events[1]["watched_at"] == int(T0 + 40)


def test_cmus_call_time_is_the_hooks_at_when_plausible(tmp_path: Path) -> None:
    events = cmus.observe(tmp_path, [*ARGS, "at", str(T0 - 3.5)], T0)
    assert events[0]["watched_at"] == int(T0 - 3.5)
    assert cmus.call_time([*ARGS, "at", "12"], T0) == T0  # far off: not believed
    assert cmus.call_time([*ARGS, "at", "soon"], T0) == T0


def test_cmus_damaged_state_file_loses_only_the_play_in_progress(tmp_path: Path) -> None:
    (tmp_path / cmus.STATE_NAME).write_text("{not json")
    assert [e["event"] for e in cmus.observe(tmp_path, ARGS, T0)] == ["start"]
