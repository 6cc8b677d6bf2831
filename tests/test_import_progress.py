"""What `import SERVICE` shows while it runs without a terminal (issue 17 item 5): "N of M"
never above M, however the service's total was off, and how the entries matched."""

from __future__ import annotations

import pytest

from scrobctl.cli.importing import _Progress, summary_json
from scrobctl.sync.importer import ImportProgress, ImportResult


def test_import_progress_line_never_shows_more_done_than_the_total(
    capsys: pytest.CaptureFixture[str],
) -> None:
    view = _Progress("listenbrainz")  # stderr is not a terminal here: plain lines
    # ListenBrainz's listen-count lags behind the listens (it is updated later), so an import
    # can read more entries than the total it was told.
    view.update(ImportProgress(total=1000, processed=1200, pages=1))

    assert capsys.readouterr().err == (
        "listenbrainz: 1200 of 1200 entries, 0 by id, 1200 by title, 0 failed\n"
    )


def test_import_progress_line_says_how_entries_matched(
    capsys: pytest.CaptureFixture[str],
) -> None:
    view = _Progress("lastfm")

    view.update(ImportProgress(total=20_000, processed=400, matched=150, failed=10, pages=1))

    assert (
        capsys.readouterr().err
        == "lastfm: 400 of 20000 entries, 150 by id, 240 by title, 10 failed\n"
    )


def test_import_summary_json_counts_plays_and_ratings_apart() -> None:
    progress = ImportProgress(
        total=12, processed=12, matched=2, failed=1, plays=9, ratings=2, new_plays=7, new_ratings=1
    )

    summary = summary_json(ImportResult("lastfm", "default", progress, False, None, None))

    assert summary == {
        "service": "lastfm",
        "profile": "default",
        "resumed": False,
        "total": 12,
        "processed": 12,
        "matched_by_id": 2,
        "matched_by_title": 9,
        "failed": 1,
        "plays": {"total": 9, "new": 7, "known": 2},
        "ratings": {"total": 2, "new": 1, "known": 1},
        "report": None,
        "failed_step": None,
    }
