"""End to end (issue 21): an export file as a sync source. A Spotify extended history imported
with `import --file` goes to ListenBrainz with `sync --source file:spotify`: its tracks, less
the one ListenBrainz already has (sent by Spotify itself a second later), and none of its
podcast episodes (ListenBrainz takes podcasts only with `listenbrainz.podcasts`)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import GOOD_TOKEN, Cli
from tests.exports.spotify import START, history, write_zip
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_envelope

ROWS = 200  # of every 20 rows 13 tracks and one podcast episode count as plays


def test_a_spotify_export_reaches_listenbrainz_without_what_it_has_or_takes_not(
    cli: Cli, fake_lb: FakeListenBrainz, tmp_path: Path
) -> None:
    rows, expected = history(ROWS, tracks=50)
    zipped = write_zip(tmp_path / "my_spotify_data.zip", rows)
    assert cli("import", "--file", str(zipped), timeout=120).returncode == 0
    # Row 0 ended at START after 180 s played; Spotify's own scrobble is a second later.
    fake_lb.add_listen(
        {
            "listened_at": START - 180 + 1,
            "track_metadata": {"artist_name": "Artist 0", "track_name": "Song 0"},
        }
    )
    assert cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n").returncode == 0

    result = cli("sync", "--source", "file:spotify", "--to", "listenbrainz", "--json")

    assert result.returncode == 0, result.stderr
    summary = json_envelope(result.stdout)["data"]
    tracks, episodes = ROWS // 20 * 13, ROWS // 20
    assert expected.plays == tracks + episodes
    assert summary["weighed"] == expected.plays
    assert summary["wrong_type"] == {"podcast": episodes}
    assert summary["already_there"] == {"id": 0, "title": 1}
    assert summary["queued"] == tracks - 1
    assert cli("flush").returncode == 0
    assert fake_lb.submissions == [tracks - 1]
    assert START - 180 + 1 not in {int(listen["listened_at"]) for listen in fake_lb.accepted}


def test_a_dry_run_says_per_play_what_it_would_do_and_queues_nothing(
    cli: Cli, fake_lb: FakeListenBrainz, tmp_path: Path
) -> None:
    rows, _expected = history(40, tracks=50)
    assert cli("import", "--file", str(write_zip(tmp_path / "s.zip", rows))).returncode == 0
    assert cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n").returncode == 0

    result = cli("sync", "--source", "file:spotify", "--to", "listenbrainz", "--dry-run")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert sum(line.endswith("  send") for line in lines) == 26
    episodes = [line for line in lines if "skip (type:" in line]
    assert len(episodes) == 2 and all("listenbrainz takes no podcasts" in e for e in episodes)
    assert "listenbrainz: would queue 26 plays, already there 0 (0 by id, 0 by title)" in lines[-1]
    assert "nothing is due" in cli("flush", "--dry-run").stderr
