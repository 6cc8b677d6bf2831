"""End to end: dry runs show the work and summaries come as JSON (issue 17 item 7)."""

from __future__ import annotations

import json
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
