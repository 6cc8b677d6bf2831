"""`scrobctl watch mpd` against a real MPD (Debian package, null output) playing generated
silent WAV files in real time, with a fake ListenBrainz to count now-playing requests.

These take minutes of wall time, nearly all of it waiting; each is its own test function so
that xdist runs them beside the others."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, log_in
from tests.e2e.watching import START_SLACK, Watcher, now_playing_titles, poll, queued_plays
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.players import Mpd, write_silent_wav


def song_start(client: Any) -> tuple[str, float]:
    """The current song's id and when it began by MPD's elapsed time."""
    s = client.status()
    return s["songid"], time.time() - float(s.get("elapsed", 0))


def play_until(client: Any, seconds: float) -> None:
    poll(
        lambda: float(client.status().get("elapsed", 0)),
        lambda e: e >= seconds,
        seconds + 30,
        f"elapsed {seconds} s",
    )


@pytest.mark.realtime(140)
def test_watch_mpd_queues_the_plays_the_thresholds_allow_with_their_real_starts(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
    isolated_env: Path,
) -> None:
    """Three 40 s tracks: A paused half-way for 10 s, B played twice by single-repeat, C
    skipped after 5 s. Queued: A once, B twice, each at its real start; C is under 50 %.
    Now playing: once per start, four in all."""
    log_in(cli, "listenbrainz")
    music = tmp_path / "music"
    music.mkdir()
    for name, title in (
        ("a.wav", "Paused Song"),
        ("b.wav", "Repeated Song"),
        ("c.wav", "Skipped Song"),
    ):
        write_silent_wav(music / name, 40, title)
    with Mpd(tmp_path, music) as mpd:
        client = mpd.client()
        for name in ("a.wav", "b.wav", "c.wav"):
            client.add(name)
        watcher = Watcher(
            scrobctl_bin,
            ["watch", "mpd", "--host", "127.0.0.1", "--port", str(mpd.port)],
            cli_env,
            tmp_path / "watch.log",
        )
        try:
            watcher.wait_for("following MPD")
            client.play(0)
            a_id, a_start = song_start(client)
            play_until(client, 20)
            client.pause(1)
            time.sleep(10)
            client.pause(0)
            b_id = poll(lambda: client.status().get("songid"), lambda i: i != a_id, 40, "song B")
            _, b_start = song_start(client)
            client.repeat(1)
            client.single(1)
            # B again: the same song id, elapsed back near 0 after having passed 30 s.
            play_until(client, 30)
            poll(lambda: float(client.status()["elapsed"]), lambda e: e < 10, 20, "B repeated")
            _, b2_start = song_start(client)
            client.single(0)
            client.repeat(0)
            poll(lambda: client.status().get("songid"), lambda i: i != b_id, 50, "song C")
            _, c_start = song_start(client)
            play_until(client, 5)
            client.next()  # the last song: MPD stops
            watcher.wait_for("not counted: The Testers - Skipped Song")
            poll(lambda: len(now_playing_titles(fake_lb)), lambda n: n >= 4, 15, "now playing")
        finally:
            code = watcher.stop()
            client.disconnect()
    assert code == 0, watcher.output()
    plays = queued_plays(isolated_env)
    assert [(p["title"], p["services"], p["source"]) for p in plays] == [
        ("Paused Song", "listenbrainz", "mpd"),
        ("Repeated Song", "listenbrainz", "mpd"),
        ("Repeated Song", "listenbrainz", "mpd"),
    ], watcher.output()
    for play, start in zip(plays, (a_start, b_start, b2_start), strict=True):
        assert abs(play["watched_at"] - start) <= START_SLACK, (play, start)
    # The 10 s pause is not play time: A counts its 40 s, not 50.
    assert 35_000 <= plays[0]["played_ms"] <= 40_000, plays[0]
    assert all(35_000 <= p["played_ms"] <= 40_000 for p in plays[1:]), plays
    assert abs(c_start - b2_start - 40) <= START_SLACK
    assert now_playing_titles(fake_lb) == [
        "Paused Song",
        "Repeated Song",
        "Repeated Song",
        "Skipped Song",
    ]


@pytest.mark.realtime(35)
def test_watch_mpd_follows_the_same_play_across_an_mpd_restart(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
    isolated_env: Path,
) -> None:
    """MPD stopped by SIGTERM 8 s into a 30 s track and started again resumes it from its state
    file; the watcher reconnects and the track is one play, started when it first began."""
    log_in(cli, "listenbrainz")
    music = tmp_path / "music"
    music.mkdir()
    write_silent_wav(music / "a.wav", 30, "Restarted Song")
    mpd = Mpd(tmp_path, music).start()
    watcher = Watcher(
        scrobctl_bin,
        ["watch", "mpd", "--host", "127.0.0.1", "--port", str(mpd.port)],
        cli_env,
        tmp_path / "watch.log",
    )
    try:
        watcher.wait_for("following MPD")
        client = mpd.client()
        client.add("a.wav")
        client.play(0)
        _, start = song_start(client)
        play_until(client, 8)
        client.disconnect()
        mpd.stop()
        watcher.wait_for("lost MPD")
        mpd.start()
        watcher.wait_for("following MPD", timeout=40, times=2)
        client = mpd.client()
        poll(lambda: client.status()["state"], lambda s: s == "stop", 40, "the end of the track")
        client.disconnect()
        watcher.wait_for("queued: The Testers - Restarted Song")
    finally:
        code = watcher.stop()
        mpd.stop()
    assert code == 0, watcher.output()
    [play] = queued_plays(isolated_env)
    assert abs(play["watched_at"] - start) <= START_SLACK
    assert 26_000 <= play["played_ms"] <= 30_000, play
    assert now_playing_titles(fake_lb) == ["Restarted Song"]


def test_watch_mpd_flush_every_sends_the_queue_from_the_watcher(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
) -> None:
    log_in(cli, "listenbrainz")
    piped = cli(
        "scrobble",
        input='{"type":"track","title":"Hurt","artist":"Johnny Cash",'
        '"duration_ms":218000,"watched_ms":150000}\n',
    )
    assert piped.returncode == 0, piped.stderr
    music = tmp_path / "music"
    music.mkdir()
    with Mpd(tmp_path, music) as mpd:
        watcher = Watcher(
            scrobctl_bin,
            ["watch", "mpd", "--port", str(mpd.port), "--host", "127.0.0.1", "--flush-every", "1s"],
            cli_env,
            tmp_path / "watch.log",
        )
        try:
            watcher.wait_for("listenbrainz: 1 sent")
        finally:
            code = watcher.stop()
    assert code == 0
    assert [listen["track_metadata"]["track_name"] for listen in fake_lb.received()] == ["Hurt"]


def test_watch_mpd_says_when_mpd_does_not_answer_and_stops_cleanly(
    tmp_path: Path, scrobctl_bin: Path, cli_env: dict[str, str]
) -> None:
    from tests.players import free_port

    watcher = Watcher(
        scrobctl_bin,
        ["watch", "mpd", "--host", "127.0.0.1", "--port", str(free_port())],
        cli_env,
        tmp_path / "watch.log",
    )
    watcher.wait_for("does not answer")
    assert watcher.stop() == 0


@pytest.mark.parametrize("value", ["soon", "0s", "-5m"])
def test_watch_flush_every_refuses_what_is_not_a_duration(cli: Cli, value: str) -> None:
    result = cli("watch", "mpd", "--flush-every", value)
    assert result.returncode == 2
    assert "not a duration" in result.stderr
