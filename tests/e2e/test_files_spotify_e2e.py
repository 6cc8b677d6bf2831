"""A Spotify extended-history zip through the installed `scrobctl import --file` (issue #20's
first "Done when", with fewer rows: the speed and memory are benchmarks/run.py's `files`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli
from tests.exports.spotify import history, write_zip
from tests.helpers import json_data


def test_spotify_zip_imports_the_counts_its_rows_imply_and_again_adds_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    rows, expected = history(6_000, tracks=400)
    zipped = write_zip(tmp_path / "my_spotify_data.zip", rows, per_file=2_500)

    first = cli("import", "--file", str(zipped), timeout=120)
    second = cli("import", "--file", str(zipped), timeout=120)

    assert first.returncode == 0, first.stderr
    skipped = expected.incognito + expected.repeats
    assert re.search(
        rf"6000 rows read, added {expected.plays} plays and 0 ratings, duplicates 0,"
        rf" below threshold {expected.below}, skipped {skipped}, unmatched 0, unreadable 0",
        first.stderr,
    ), first.stderr
    assert second.returncode == 0, second.stderr
    assert f"added 0 plays and 0 ratings, duplicates {expected.plays}," in second.stderr
    listed = cli("history", "--source", "file:spotify", "--limit", "100000", "--json")
    plays = json_data(listed.stdout)["plays"]
    assert len(plays) == expected.plays
    assert all(p["services"] == [] and p["source"] == "file:spotify" for p in plays)
    assert json_data(cli("history", "--source", "stdin", "--json").stdout)["plays"] == []


def test_import_of_an_unknown_file_is_one_line_naming_the_formats(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text('{"hello": "world"}\n')

    result = cli("import", "--file", str(path))

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "known formats: spotify, lastfm, listenbrainz, letterboxd" in result.stderr


def test_import_of_a_missing_file_says_so(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "--file", str(tmp_path / "nope.zip"))

    assert result.returncode == 2
    assert "cannot read" in result.stderr and "nope.zip" in result.stderr


def test_import_with_an_unreadable_row_exits_1_and_keeps_the_others(
    cli: Cli, tmp_path: Path
) -> None:
    from tests.exports.spotify import track_row

    path = tmp_path / "Streaming_History_Audio_2024_0.json"
    rows = [track_row(1_700_000_000, 200_000, "Fine", "A", "X"), {"ts": 3, "ms_played": "x"}]
    path.write_text(json.dumps(rows))

    result = cli("import", "--file", str(path))

    assert result.returncode == 1
    assert "added 1 plays" in result.stderr and "unreadable 1" in result.stderr


def test_ctrl_c_keeps_what_was_committed_and_says_how_to_continue(
    cli: Cli, popen_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    import signal
    import sqlite3

    from tests.e2e.conftest import wait_until

    rows, expected = history(60_000, tracks=2_000)
    zipped = write_zip(tmp_path / "my_spotify_data.zip", rows, per_file=20_000)
    db = Path(cli_env["SCROBCTL_DATA_DIR"]) / "scrobctl.db"

    def committed() -> int:
        if not db.exists():
            return 0
        conn = sqlite3.connect(db, timeout=30)
        try:
            return conn.execute("SELECT count(*) FROM plays").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not made yet
            return 0
        finally:
            conn.close()

    proc = popen_cli("import", "--file", str(zipped))
    wait_until(lambda: committed() > 0 or proc.poll() is not None, timeout=120)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)

    if proc.returncode == 0:
        pytest.skip("the import finished before Ctrl-C arrived")
    assert proc.returncode == 130, stderr
    kept = committed()
    assert f"interrupted: {kept} plays were kept" in stderr
    assert f"scrobctl import --file {zipped}` again to continue" in stderr
    again = cli("import", "--file", str(zipped), timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"added {expected.plays - kept} plays" in again.stderr
    assert committed() == expected.plays


def test_import_options_of_files_need_a_file(cli: Cli) -> None:
    nothing = cli("import")
    dry = cli("import", "lastfm", "--dry-run")

    assert (nothing.returncode, dry.returncode) == (2, 2)
    assert "name a service to import from, or give --file PATH" in nothing.stderr
    assert "--dry-run and --format go with --file" in dry.stderr
