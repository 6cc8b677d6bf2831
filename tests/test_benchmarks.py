"""The benchmark script still runs (quick sizes); it prints figures, and nothing asserts times."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_quick_mode_prints_every_figure_as_json() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCROBCTL_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)["figures"]
    assert {f["section"] for f in figures} == {
        "startup",
        "ingest",
        "flush",
        "import",
        "archive",
        "files",
        "sync",
    }
    assert all(isinstance(f["value"], int | float) for f in figures)
    # issue #25: a flush's CPU a batch at two queue sizes, beside the rate's interval
    names = {f["name"] for f in figures if f["section"] == "flush"}
    assert "CPU a batch, 5,000 against 2,000 queued" in names
    assert "listenbrainz, 5,000 queued: scrobctl CPU a batch" in names
    # issue #25: ingest's ratio in instructions too, where valgrind is installed (.ci/run
    # installs it)
    if shutil.which("valgrind"):
        names = {f["name"] for f in figures if f["section"] == "ingest"}
        assert "200 events piped, instructions (callgrind)" in names
    # issue #25: every everyday command, on the small and on the large archive
    names = {f["name"] for f in figures if f["section"] == "archive"}
    for command in ("--help", "status --json", "history --limit 1000", "doctor", "explain PLAY"):
        assert f"{command} (1,000 plays)" in names
        assert f"{command} (5,000 plays)" in names
