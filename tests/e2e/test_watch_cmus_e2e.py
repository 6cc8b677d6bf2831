"""contrib/cmus/scrobctl-cmus called as cmus calls its status_display_program (key/value
arguments, a new process per status change), against the installed scrobctl. cmus itself needs
a terminal to run, so the calls are made by the test, with cmus's documented arguments."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, log_in
from tests.e2e.watching import START_SLACK, now_playing_titles, poll, queued_plays
from tests.fakes.listenbrainz import FakeListenBrainz

HOOK = Path(__file__).resolve().parents[2] / "contrib" / "cmus" / "scrobctl-cmus"
SONG = ["file", "/music/cmus.flac", "artist", "The Testers", "title", "Cmus Song"]
SONG += ["album", "Silence", "duration", "30"]


@pytest.mark.realtime(30)
def test_cmus_hook_queues_a_play_kept_between_calls_without_its_pause(
    tmp_path: Path,
    cli: Cli,
    fake_lb: FakeListenBrainz,
    scrobctl_bin: Path,
    cli_env: dict[str, str],
    isolated_env: Path,
) -> None:
    log_in(cli, "listenbrainz")
    env = {**cli_env, "SCROBCTL": str(scrobctl_bin), "XDG_STATE_HOME": str(tmp_path / "state")}
    state = isolated_env / "cmus-state.json"

    def call(*args: str) -> float:
        """As cmus does: run the program and wait for it (it puts scrobctl in the background)."""
        at = time.time()
        subprocess.run([str(HOOK), *args], env=env, check=True, timeout=10)
        return at

    def kept() -> object:
        return json.loads(state.read_text()) if state.exists() else "missing"

    started = call("status", "playing", *SONG)
    poll(kept, lambda p: isinstance(p, dict) and p["playing"], 20, "the play kept")
    poll(lambda: now_playing_titles(fake_lb), lambda t: t == ["Cmus Song"], 20, "now playing")
    time.sleep(9)
    paused = call("status", "paused", *SONG)
    poll(kept, lambda p: isinstance(p, dict) and not p["playing"], 20, "the pause kept")
    time.sleep(5)
    resumed = call("status", "playing", *SONG)
    poll(kept, lambda p: isinstance(p, dict) and p["playing"], 20, "playing again")
    time.sleep(8)
    stopped = call("status", "stopped")
    plays = poll(lambda: queued_plays(isolated_env), lambda p: len(p) == 1, 20, "the play")
    [play] = plays
    assert (play["title"], play["services"], play["source"]) == (
        "Cmus Song",
        "listenbrainz",
        "cmus",
    )
    assert abs(play["watched_at"] - started) <= START_SLACK
    played = (paused - started) + (stopped - resumed)  # the pause between is left out
    assert abs(play["played_ms"] / 1000 - played) <= 1, (play, played)
    assert play["played_ms"] >= 15_000  # half the track, so it was queued
    assert kept() is None
    assert now_playing_titles(fake_lb) == ["Cmus Song"]
