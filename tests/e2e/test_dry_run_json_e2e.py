"""End to end: dry runs show the work and summaries come as JSON (issue 17 item 7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, jsonl, status_json, track_events
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_data, json_envelope


def test_scrobble_dry_run_says_where_the_plays_would_go(cli: Cli, logged_in: Any) -> None:
    result = cli("scrobble", "--dry-run", input=jsonl(track_events(2)))

    assert result.returncode == 0, result.stderr
    assert "would go to: listenbrainz 2" in result.stderr.splitlines()
    assert status_json(cli)["plays"] == 0


def test_scrobble_json_summary(cli: Cli, logged_in: Any) -> None:
    events = jsonl(track_events(2)) + "not json\n"

    result = cli("scrobble", "--json", input=events)

    assert result.returncode == 1
    summary = json_data(result.stdout)
    assert summary["queued"] == 2 and summary["jobs"] == {"listenbrainz": 2}
    assert summary["invalid"] == [{"line": 3, "reason": summary["invalid"][0]["reason"]}]
    assert summary["dry_run"] is False


def test_flush_dry_run_lists_what_would_be_sent_and_sends_nothing(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    assert cli("scrobble", input=jsonl(track_events(2))).returncode == 0

    text = cli("flush", "--dry-run")
    data = cli("flush", "--dry-run", "--json")

    assert text.returncode == 0, text.stderr
    lines = text.stderr.splitlines()
    assert "listenbrainz: would send 2 jobs" in lines
    assert "  The Testers - Track 00000" in lines
    [planned] = json_data(data.stdout)["services"]
    assert (planned["service"], planned["due"], planned["state"]) == ("listenbrainz", 2, "ok")
    assert fake_lb.received() == []
    assert status_json(cli)["queue"]["listenbrainz"]["available"] == 2


def test_flush_json_summary(cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz) -> None:
    assert cli("scrobble", input=jsonl(track_events(3))).returncode == 0

    result = cli("flush", "--json")

    assert result.returncode == 0, result.stderr
    envelope = json_envelope(result.stdout)
    [lb] = envelope["data"]["services"]
    assert (lb["service"], lb["sent"], lb["requests"], envelope["exit_code"]) == (
        "listenbrainz",
        3,
        1,
        0,
    )


def test_flush_json_with_nothing_due_still_prints_json(cli: Cli, logged_in: Any) -> None:
    result = cli("flush", "--json")

    assert json.loads(result.stdout) == {
        "data": {"dry_run": False, "services": []},
        "exit_code": 0,
    }


def test_import_json_summary(cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz) -> None:
    result = cli("import", "listenbrainz", "--json")

    assert result.returncode == 0, result.stderr
    summary = json_data(result.stdout)
    assert set(summary) == {
        "service",
        "profile",
        "resumed",
        "processed",
        "matched_by_id",
        "matched_by_title",
        "failed",
        "total",
        "plays",
        "ratings",
        "report",
        "failed_step",
    }
    assert (summary["service"], summary["failed"], summary["report"]) == ("listenbrainz", 0, None)


def test_import_progress_says_how_entries_matched_and_never_passes_the_total(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    fake_lb.history_size = 1500  # tracks without MBIDs: matched by artist and title

    result = cli("import", "listenbrainz", timeout=120)

    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if " entries, " in line]
    assert progress, result.stderr
    assert "0 by id, 1000 by title, 0 failed" in progress[0]
    assert "matched 0" not in result.stderr
    for line in progress:
        words = line.split()
        if "of" in words:
            done, total = int(words[1]), int(words[words.index("of") + 1])
            assert done <= total


def test_import_summary_counts_plays_and_ratings_apart_and_new_versus_already_known(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    fake_lb.history_size = 1500  # tracks without MBIDs: matched by artist and title

    first = cli("import", "listenbrainz", timeout=120)
    again = cli("import", "listenbrainz", "--full", "--json", timeout=120)

    assert first.returncode == 0, first.stderr
    [line] = [x for x in first.stderr.splitlines() if x.startswith("listenbrainz: imported: ")]
    assert "1500 entries, 0 matched by id, 1500 by title, 0 failed" in line
    assert "1500 plays (1500 new, 0 already known), 0 ratings (0 new, 0 already known)" in line
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)["data"]
    assert summary["plays"] == {"total": 1500, "new": 0, "known": 1500}
    assert summary["ratings"] == {"total": 0, "new": 0, "known": 0}
    assert (summary["matched_by_id"], summary["matched_by_title"]) == (0, 1500)


def test_import_that_fails_half_way_says_what_was_saved_and_status_shows_it_interrupted(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    fake_lb.history_size = 2500
    fake_lb.unavailable_after = 1  # the second page is answered 503

    failed = cli("import", "listenbrainz", timeout=120)
    status = status_json(cli)
    fake_lb.unavailable_after = None
    resumed = cli("import", "listenbrainz", timeout=120)

    assert failed.returncode == 1
    assert (
        "listenbrainz: import stopped after 1000 entries (1000 plays (1000 new, 0 already"
        " known), 0 ratings (0 new, 0 already known)) were saved with their checkpoint;"
        " `scrobctl import listenbrainz` continues where it stopped"
    ) in failed.stderr.splitlines()
    [row] = status["imports"]
    assert (row["service"], row["state"], row["processed"], row["plays"]) == (
        "listenbrainz",
        "interrupted",
        1000,
        1000,
    )
    assert row["detail"].startswith("stopped: listenbrainz: HTTP 503")
    assert row["command"] == "scrobctl import listenbrainz"
    assert "listenbrainz: resumed and finished: 2500 entries" in resumed.stderr
    assert status_json(cli)["imports"][0]["state"] == "done"


def test_import_file_json_summary_counts_ratings_new_then_already_known(
    cli: Cli, tmp_path: Path
) -> None:
    from tests.exports.files import csv_text
    from tests.test_files_formats import IMDB_HEADER, imdb_row

    path = tmp_path / "ratings.csv"
    path.write_text(
        csv_text(
            IMDB_HEADER,
            [
                imdb_row("tt0133093", 9, "Movie", "The Matrix", "1999"),
                imdb_row("tt0944947", 9, "TV Series", "Game of Thrones", "2011"),
            ],
        )
    )

    first = cli("import", "--file", str(path), "--json")
    again = cli("import", "--file", str(path), "--json")
    said = cli("import", "--file", str(path))

    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)["data"]
    assert summary == {
        "dry_run": False,
        "files": [{"path": str(path), "format": "IMDb ratings CSV"}],
        "rows": 2,
        "plays": {"new": 0, "known": 0},
        "ratings": {"new": 2, "known": 0},
        "matched_by_id": 2,
        "matched_by_title": 0,
        "below_threshold": 0,
        "skipped": {},
        "unmatched": 0,
        "unreadable": 0,
        "report": None,
        "interrupted": False,
        "kept": 0,
    }
    assert json.loads(again.stdout)["data"]["ratings"] == {"new": 0, "known": 2}
    assert (
        "added 0 plays and 0 ratings, duplicates 0, below threshold 0, skipped 0, unmatched 0,"
        " unreadable 0; 2 ratings already known; matched 2 by id, 0 by title"
    ) in said.stderr
