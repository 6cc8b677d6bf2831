"""`scrobctl watch mpris` and `scrobctl scrobble --format playerctl` through the real playerctl
(Debian package) and a scripted MPRIS player on a private D-Bus session."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, log_in
from tests.e2e.watching import START_SLACK, Watcher, now_playing_titles, poll, queued_plays
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.mpris_player import NAME, ScriptedPlayer, private_session_bus
from tests.players import need


@pytest.fixture
def bus_env(tmp_path: Path, cli_env: dict[str, str]) -> Iterator[dict[str, str]]:
    need("playerctl")
    with private_session_bus(tmp_path) as env:
        yield {**cli_env, **env}


@pytest.fixture
def player(bus_env: dict[str, str]) -> Iterator[ScriptedPlayer]:
    with ScriptedPlayer(bus_env["DBUS_SESSION_BUS_ADDRESS"]) as p:
        yield p


@pytest.mark.realtime(70)
def test_watch_mpris_counts_play_time_repeats_and_track_changes(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    bus_env: dict[str, str],
    player: ScriptedPlayer,
    isolated_env: Path,
) -> None:
    """X (30 s) plays 10 s, pauses 6 s, plays 8 s, is sought back to 0 (a repeat) and plays
    18 s; then Y plays 2 s and the player stops. Queued: X twice, with 18 s each (the pause is
    not counted); Y is under 50 %. Now playing: X, X, Y."""
    log_in(cli, "listenbrainz")
    player.load("Track X", "The Testers", 30)
    watcher = Watcher(
        scrobctl_bin, ["watch", "mpris", "--player", NAME], bus_env, tmp_path / "watch.log"
    )
    try:
        watcher.wait_for("through playerctl")
        time.sleep(1)  # playerctl has found the player
        player.play()
        x_start = time.time()
        time.sleep(10)
        player.pause()
        time.sleep(6)
        player.play()
        time.sleep(8)
        player.seek(0)
        x2_start = time.time()
        time.sleep(18)
        player.load("Track Y", "The Testers", 30)
        player.play()
        time.sleep(2)
        player.stop()
        watcher.wait_for("not counted: The Testers - Track Y")
        poll(lambda: len(now_playing_titles(fake_lb)), lambda n: n >= 3, 15, "now playing")
    finally:
        code = watcher.stop()
    assert code == 0, watcher.output()
    plays = queued_plays(isolated_env)
    assert [(p["title"], p["services"], p["source"]) for p in plays] == [
        ("Track X", "listenbrainz", "mpris"),
        ("Track X", "listenbrainz", "mpris"),
    ], watcher.output()
    for play, start in zip(plays, (x_start, x2_start), strict=True):
        assert abs(play["watched_at"] - start) <= START_SLACK, (play, start)
        assert 16_000 <= play["played_ms"] <= 20_000, play  # 24 s with the pause
    assert now_playing_titles(fake_lb) == ["Track X", "Track X", "Track Y"]


@pytest.mark.realtime(10)
def test_watch_mpris_ends_the_play_when_the_player_goes_away(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    bus_env: dict[str, str],
    isolated_env: Path,
) -> None:
    log_in(cli, "listenbrainz")
    watcher = Watcher(
        scrobctl_bin, ["watch", "mpris", "--player", NAME], bus_env, tmp_path / "watch.log"
    )
    try:
        watcher.wait_for("through playerctl")
        with ScriptedPlayer(bus_env["DBUS_SESSION_BUS_ADDRESS"]) as player:
            player.load("Track Z", "The Testers", 30)
            time.sleep(1)
            player.play()
            played_from = time.time()
            watcher.wait_for("now playing on listenbrainz: The Testers - Track Z")
            time.sleep(2)
            left = time.time()
        # The player left the bus mid-track: its play ends with the time it played.
        watcher.wait_for("not counted: The Testers - Track Z")
    finally:
        code = watcher.stop()
    assert code == 0, watcher.output()
    [line] = [x for x in watcher.output().splitlines() if x.startswith("not counted")]
    played = int(line.split("(played ")[1].split(" s")[0])
    assert abs(played - (left - played_from)) <= 1.5, line


def test_scrobble_format_playerctl_queues_what_one_look_at_a_player_shows(
    cli: Cli,
    fake_lb: FakeListenBrainz,
    bus_env: dict[str, str],
    player: ScriptedPlayer,
    isolated_env: Path,
    scrobctl_bin: Path,
) -> None:
    """A one-shot pipeline: playerctl prints the player 20 s into a 30 s track; scrobble
    queues it as a play that began 20 s ago and shows it as now playing."""
    log_in(cli, "listenbrainz")
    player.load("Track P", "The Testers", 30)
    player.seek(20)
    player.play()
    before = time.time()
    fmt = subprocess.run(
        [str(scrobctl_bin), "watch", "mpris", "--print-format"],
        capture_output=True,
        text=True,
        env=bus_env,
        check=True,
    ).stdout.rstrip("\n")
    shown = subprocess.run(
        ["playerctl", "--player", NAME, "metadata", "--format", fmt],
        capture_output=True,
        text=True,
        env=bus_env,
        check=True,
        timeout=20,
    ).stdout
    result = subprocess.run(
        [str(scrobctl_bin), "scrobble", "--format", "playerctl"],
        input=shown,
        capture_output=True,
        text=True,
        env=bus_env,
        timeout=30,
    )
    after = time.time()
    assert result.returncode == 0, result.stderr
    assert "queued 1," in result.stderr
    [play] = queued_plays(isolated_env)
    assert (play["title"], play["source"], play["duration_ms"]) == ("Track P", "playerctl", 30_000)
    # Began 20 s before the look, which happened between `before` and the scrobble's end.
    assert before - 20 - 1 <= play["watched_at"] <= after - 20 + 1
    assert now_playing_titles(fake_lb) == ["Track P"]


def test_watch_mpris_without_playerctl_says_how_to_install_it(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_env["PATH"] = str(tmp_path)  # nowhere with a playerctl
    result = cli("watch", "mpris")
    assert result.returncode == 2
    assert (
        "playerctl is not installed" in result.stderr and "apt install playerctl" in result.stderr
    )
