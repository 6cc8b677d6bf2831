"""End to end: `queue list` shows what matters (issue 17): pending and failed jobs, newest
first, and how many it left out."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Cli, jsonl, track_events
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_data


def test_queue_list_shows_pending_newest_first_and_counts_the_completed_left_out(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    events = track_events(5)
    assert cli("scrobble", input=jsonl(events[:3])).returncode == 0
    assert cli("flush").returncode == 0
    assert cli("scrobble", input=jsonl(events[3:])).returncode == 0

    listed = cli("queue", "list", "--json")
    text = cli("queue", "list")
    every = cli("queue", "list", "--all", "--json")

    report = json_data(listed.stdout)
    assert [j["item"] for j in report["jobs"]] == [
        "The Testers - Track 00004",
        "The Testers - Track 00003",
    ]
    assert report["left_out"] == {"completed": 3, "beyond_limit": 0}
    assert "2 jobs shown; left out: 3 completed jobs (--all shows them)" in text.stderr
    assert len(json_data(every.stdout)["jobs"]) == 5


def test_queue_list_says_how_many_are_beyond_the_limit(cli: Cli, logged_in: Any) -> None:
    assert cli("scrobble", input=jsonl(track_events(3))).returncode == 0

    text = cli("queue", "list", "--limit", "1")

    assert "1 job shown; left out: 2 older jobs beyond --limit 1" in text.stderr
