"""contrib/mpv/scrobctl.lua in a real mpv (Debian package, --ao=null) playing generated silent
WAV files in real time, driven over mpv's JSON IPC; the script calls the installed scrobctl.

Minutes of wall time, nearly all waiting: its own test function, so xdist overlaps it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, log_in
from tests.e2e.watching import START_SLACK, now_playing_titles, poll, queued_plays
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.players import MpvIpc, need, read_log, write_silent_wav

SCRIPT = Path(__file__).resolve().parents[2] / "contrib" / "mpv" / "scrobctl.lua"


def position(ipc: MpvIpc) -> float:
    value = ipc.get("time-pos")
    return float(value) if isinstance(value, int | float) else 0.0


def play_until(ipc: MpvIpc, seconds: float) -> None:
    poll(lambda: position(ipc), lambda p: p >= seconds, seconds + 30, f"time-pos {seconds} s")


def entry(ipc: MpvIpc, index: int) -> float:
    """Wait for playlist entry `index` to play; when it began by its time-pos."""
    poll(lambda: ipc.get("playlist-pos"), lambda p: p == index, 60, f"playlist entry {index}")
    play_until(ipc, 0.1)
    return time.time() - position(ipc)


@pytest.mark.realtime(140)
def test_mpv_script_queues_the_plays_the_thresholds_allow_with_their_real_starts(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
    isolated_env: Path,
) -> None:
    """Three 40 s files: A paused half-way for 10 s, B looped once (--loop-file: no end-file,
    time-pos jumps back), C skipped after 5 s. Queued: A once, B twice, at their real starts."""
    need("mpv")
    log_in(cli, "listenbrainz")
    files = [
        write_silent_wav(tmp_path / name, 40, title)
        for name, title in (
            ("a.wav", "Paused Song"),
            ("b.wav", "Repeated Song"),
            ("c.wav", "Skipped Song"),
        )
    ]
    socket_path = tmp_path / "mpv.sock"
    env = {**cli_env, "XDG_STATE_HOME": str(tmp_path / "state")}
    said = tmp_path / "state" / "scrobctl-mpv.log"  # what each scrobctl the script ran said
    log = tmp_path / "mpv.log"
    with log.open("wb") as out:
        mpv = subprocess.Popen(
            [
                "mpv",
                "--no-config",
                "--no-terminal",
                "--ao=null",
                "--no-video",
                f"--input-ipc-server={socket_path}",
                f"--script={SCRIPT}",
                f"--script-opts=scrobctl-command={scrobctl_bin}",
                "--msg-level=all=warn",
                f"--log-file={tmp_path / 'mpv-full.log'}",
                *map(str, files),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
        )
    try:
        ipc = MpvIpc(socket_path)
        a_start = entry(ipc, 0)
        play_until(ipc, 20)
        ipc.command("set_property", "pause", True)
        time.sleep(10)
        ipc.command("set_property", "pause", False)
        b_start = entry(ipc, 1)
        ipc.command("set_property", "loop-file", 1)
        play_until(ipc, 30)
        poll(lambda: position(ipc), lambda p: 0 < p < 10, 20, "B looped")
        b2_start = time.time() - position(ipc)
        c_start = entry(ipc, 2)
        play_until(ipc, 5)
        ipc.command("playlist-next", "force")  # the last file: mpv leaves
        ipc.close()
        code = mpv.wait(timeout=60)
    finally:
        if mpv.poll() is None:
            mpv.kill()
            mpv.wait()
    output = read_log(log)
    assert code == 0, output
    # The script's calls are detached: wait until all seven have answered (4 starts, 3 plays
    # queued, the skipped one below its threshold).
    poll(lambda: read_log(said), lambda t: t.count("queued 1,") == 3, 30, "three plays")
    poll(lambda: read_log(said), lambda t: "below threshold 1," in t, 30, "the skipped play")
    poll(lambda: read_log(said).count("not a finished play 1"), lambda n: n == 4, 30, "4 starts")
    plays = queued_plays(isolated_env)
    assert [(p["title"], p["services"]) for p in plays] == [
        ("Paused Song", "listenbrainz"),
        ("Repeated Song", "listenbrainz"),
        ("Repeated Song", "listenbrainz"),
    ], read_log(said)
    for play, start in zip(plays, (a_start, b_start, b2_start), strict=True):
        assert abs(play["watched_at"] - start) <= START_SLACK, (play, start)
    assert 35_000 <= plays[0]["played_ms"] <= 40_000, plays[0]  # the pause is not play time
    assert all(35_000 <= p["played_ms"] <= 40_000 for p in plays[1:]), plays
    assert abs(c_start - b2_start - 40) <= START_SLACK
    poll(lambda: len(now_playing_titles(fake_lb)), lambda n: n >= 4, 15, "now playing")
    assert now_playing_titles(fake_lb) == [
        "Paused Song",
        "Repeated Song",
        "Repeated Song",
        "Skipped Song",
    ]
