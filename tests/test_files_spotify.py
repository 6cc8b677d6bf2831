"""Spotify streaming history files (api-notes file-formats.md §1), through `import --file`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scrobctl.errors import UsageError
from tests.exports.files import report_lines, run_import, write_json, write_zip
from tests.exports.spotify import episode_row, history, track_row, ts
from tests.exports.spotify import write_zip as write_history_zip

END = 1_700_000_000


def plays(data_dir: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    try:
        return conn.execute(
            "SELECT i.kind, i.title, i.artist, p.watched_at, p.played_ms, p.source FROM plays p"
            " JOIN items i ON i.id = p.item_id ORDER BY p.watched_at"
        ).fetchall()
    finally:
        conn.close()


def count(data_dir: Path, table: str) -> int:
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def history_file(tmp_path: Path, rows: list[dict[str, Any]], name: str = "") -> Path:
    return write_json(tmp_path / (name or "Streaming_History_Audio_2023_0.json"), rows)


def test_spotify_play_began_ms_played_before_ts(tmp_path: Path, data_dir: Path) -> None:
    path = history_file(tmp_path, [track_row(END, 200_500, "Hurt", "Johnny Cash", "American IV")])

    result = run_import(path)

    assert result.summary.plays == 1
    assert plays(data_dir) == [("track", "Hurt", "Johnny Cash", END - 201, 200_500, "file:spotify")]


def test_spotify_track_counts_from_30_seconds_played(tmp_path: Path, data_dir: Path) -> None:
    rows = [
        track_row(END, 29_999, "Short", "A", "X", reason_end="fwdbtn"),
        track_row(END + 600, 30_000, "Enough", "A", "X", reason_end="fwdbtn"),
    ]

    result = run_import(history_file(tmp_path, rows))

    assert (result.summary.plays, result.summary.below_threshold) == (1, 1)
    assert [p[1] for p in plays(data_dir)] == ["Enough"]


def test_spotify_episode_is_a_podcast_counted_from_5_minutes(
    tmp_path: Path, data_dir: Path
) -> None:
    rows = [
        episode_row(END, 299_999, "Ep 1", "The Show"),
        episode_row(END + 3600, 300_000, "Ep 2", "The Show"),
    ]

    result = run_import(history_file(tmp_path, rows))

    assert (result.summary.plays, result.summary.below_threshold) == (1, 1)
    assert plays(data_dir)[0][:3] == ("podcast", "Ep 2", "The Show")


def test_spotify_audiobook_chapter_is_spoken_word(tmp_path: Path, data_dir: Path) -> None:
    row = episode_row(END, 900_000, "", "")
    row.update(
        episode_name=None,
        episode_show_name=None,
        spotify_episode_uri=None,
        audiobook_title="Dune",
        audiobook_uri="spotify:show:abc",
        audiobook_chapter_uri="spotify:episode:def",
        audiobook_chapter_title="Chapter 3",
    )

    run_import(history_file(tmp_path, [row]))

    assert plays(data_dir)[0][:3] == ("podcast", "Chapter 3", "Dune")


def test_spotify_incognito_play_is_skipped_and_reported(tmp_path: Path, data_dir: Path) -> None:
    rows = [track_row(END, 200_000, "Secret", "A", "X", incognito_mode=True)]

    result = run_import(history_file(tmp_path, rows))

    assert result.summary.plays == 0
    assert result.summary.skipped == {"incognito play": 1}
    [entry] = report_lines(result)
    assert entry["outcome"] == "skipped"
    assert entry["data"]["master_metadata_track_name"] == "Secret"


def test_spotify_repeated_row_with_a_later_ts_is_one_play(tmp_path: Path, data_dir: Path) -> None:
    """ortham.net: identical rows repeat with only `ts` a minute or so later. Even a short play
    (whose half-length window is 17 s) is caught."""
    first = track_row(END, 35_000, "Again", "A", "X", offline_timestamp=1_699_999_965_000)
    rows = [first, dict(first, ts=ts(END + 70))]

    result = run_import(history_file(tmp_path, rows))

    assert result.summary.plays == 1
    assert sum(result.summary.skipped.values()) == 1


def test_spotify_same_track_played_again_is_two_plays(tmp_path: Path, data_dir: Path) -> None:
    rows = [
        track_row(END, 180_000, "Loop", "A", "X"),
        track_row(END + 180, 180_000, "Loop", "A", "X", reason_start="trackdone"),
    ]
    rows[1]["offline_timestamp"] = 1  # one field differs: not the export's repeat

    result = run_import(history_file(tmp_path, rows))

    assert result.summary.plays == 2


def test_spotify_offline_rows_sharing_one_ts_are_each_a_play(
    tmp_path: Path, data_dir: Path
) -> None:
    rows = [
        track_row(
            END,
            180_000 + i * 1000,
            f"Offline {i}",
            "A",
            "X",
            offline=True,
            offline_timestamp=1_500_000_000 + i,
        )
        for i in range(3)
    ]

    result = run_import(history_file(tmp_path, rows))

    assert result.summary.plays == 3
    assert sorted(p[3] for p in plays(data_dir)) == [END - 182, END - 181, END - 180]


def test_spotify_row_without_a_name_is_skipped(tmp_path: Path, data_dir: Path) -> None:
    row = episode_row(END, 900_000, "", "")
    row.update(episode_name=None, episode_show_name=None)

    result = run_import(history_file(tmp_path, [row]))

    assert result.summary.skipped == {"no track, episode or audiobook named": 1}


def test_spotify_unreadable_row_is_counted_and_the_rest_imported(
    tmp_path: Path, data_dir: Path
) -> None:
    rows = [{"ts": "yesterday", "ms_played": 1}, track_row(END, 180_000, "Fine", "A", "X")]

    result = run_import(history_file(tmp_path, rows))

    assert (result.summary.plays, result.summary.unreadable) == (1, 1)
    assert report_lines(result)[0]["outcome"] == "invalid"


def test_spotify_truncated_file_reports_where_it_stopped(tmp_path: Path, data_dir: Path) -> None:
    path = history_file(tmp_path, [track_row(END, 180_000, "Fine", "A", "X")] * 1)
    text = path.read_text()
    path.write_text(text[:-1] + ', {"ts": "2023-11-14T22:')  # cut in the middle of a row

    result = run_import(path, format_name="spotify")

    assert (result.summary.plays, result.summary.unreadable) == (1, 1)


def test_spotify_legacy_endsong_file_is_read(tmp_path: Path, data_dir: Path) -> None:
    zipped = write_zip(
        tmp_path / "my_spotify_data.zip",
        {
            "MyData/endsong_0.json": [track_row(END, 180_000, "Old", "A", "X")],
            "MyData/endvideo.json": [track_row(END, 180_000, "Video", "A", "X")],
        },
    )

    run_import(zipped)

    assert [p[1] for p in plays(data_dir)] == ["Old"]


def test_spotify_account_data_is_read_with_minute_precision(tmp_path: Path, data_dir: Path) -> None:
    """`endTime` "YYYY-MM-DD HH:MM" (UTC); the new file names that Maloja's pattern misses."""
    zipped = write_zip(
        tmp_path / "my_spotify_data.zip",
        {
            "Spotify Account Data/StreamingHistory_music_0.json": [
                {
                    "endTime": "2023-11-14 22:13",
                    "artistName": "A",
                    "trackName": "T",
                    "msPlayed": 180_000,
                }
            ],
            "Spotify Account Data/StreamingHistory_podcast_0.json": [
                {
                    "endTime": "2023-11-14 23:13",
                    "podcastName": "P",
                    "episodeName": "E",
                    "msPlayed": 1_800_000,
                }
            ],
        },
    )

    run_import(zipped)

    assert [(p[0], p[1], p[3]) for p in plays(data_dir)] == [
        ("track", "T", END - 20 - 180),  # END is 22:13:20
        ("podcast", "E", END - 20 + 3600 - 1800),
    ]


def test_spotify_account_data_overlapping_the_extended_history_adds_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    extended = history_file(tmp_path, [track_row(END + 45, 180_000, "T", "A", None)])
    account = write_json(
        tmp_path / "StreamingHistory0.json",
        [{"endTime": "2023-11-14 22:13", "artistName": "A", "trackName": "T", "msPlayed": 180_000}],
    )

    run_import(extended)
    result = run_import(account)

    assert (result.summary.plays, result.summary.duplicates) == (0, 1)


def test_spotify_zip_imports_what_its_rows_imply_and_again_adds_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    rows, expected = history(4_000, tracks=300)
    zipped = write_history_zip(tmp_path / "my_spotify_data.zip", rows, per_file=1_500)

    first = run_import(zipped)
    second = run_import(zipped)

    s = first.summary
    assert (s.rows, s.plays, s.below_threshold) == (4_000, expected.plays, expected.below)
    assert s.skipped["incognito play"] == expected.incognito
    assert sum(s.skipped.values()) == expected.incognito + expected.repeats
    assert (second.summary.plays, second.summary.duplicates) == (0, expected.plays)
    assert count(data_dir, "plays") == expected.plays
    assert count(data_dir, "jobs") == 0  # queued for no service
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.toml",
        "data",
        "my_spotify_data.zip",
    ]


def test_spotify_dry_run_counts_and_keeps_nothing(tmp_path: Path, data_dir: Path) -> None:
    path = history_file(tmp_path, [track_row(END, 180_000, "T", "A", "X")])

    result = run_import(path, dry_run=True)

    assert result.summary.plays == 1
    assert count(data_dir, "plays") == 0


def test_spotify_interrupted_import_keeps_what_was_committed(
    tmp_path: Path, data_dir: Path
) -> None:
    rows = [track_row(END + i * 300, 180_000, f"T{i}", "A", "X") for i in range(3_500)]
    path = history_file(tmp_path, rows)

    def stop(_progress: Any, read: int) -> None:
        if read == 2_000:
            raise KeyboardInterrupt

    interrupted = run_import(path, on_progress=stop)
    again = run_import(path)

    assert interrupted.interrupted
    assert interrupted.kept == count(data_dir, "plays") - again.summary.plays
    assert interrupted.kept >= 1_000  # whole transactions of 1,000 rows were kept
    assert count(data_dir, "plays") == 3_500
    assert again.summary.duplicates == interrupted.kept


def test_unknown_file_names_the_known_formats(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")

    with pytest.raises(UsageError) as caught:
        run_import(path)

    assert "spotify" in str(caught.value) and "letterboxd" in str(caught.value)


def test_corrupt_zip_member_stops_with_one_error_keeping_what_was_read(
    tmp_path: Path, data_dir: Path
) -> None:
    from scrobctl.errors import ScrobctlError

    rows = [track_row(END + i * 300, 180_000, f"T{i}", "A", "X") for i in range(10)]
    zipped = write_zip(tmp_path / "my_spotify_data.zip", {"Streaming_History_Audio_0.json": rows})
    data = bytearray(zipped.read_bytes())
    at = data.find(b"Streaming_History_Audio_0.json") + 200  # inside the compressed member
    data[at : at + 8] = b"\x00" * 8
    zipped.write_bytes(bytes(data))

    with pytest.raises(ScrobctlError, match="could not be read to the end"):
        run_import(zipped)


def test_folder_is_not_an_export_file(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(UsageError, match="a folder"):
        run_import(tmp_path)


def test_file_that_breaks_half_way_names_how_many_plays_were_kept(
    tmp_path: Path, data_dir: Path
) -> None:
    import sqlite3

    from scrobctl.errors import ScrobctlError

    rows = [track_row(END + i * 300, 180_000, f"T{i}", f"A{i % 97}", "X") for i in range(3000)]
    zipped = write_zip(tmp_path / "my_spotify_data.zip", {"Streaming_History_Audio_0.json": rows})
    data = bytearray(zipped.read_bytes())
    start = data.find(b"Streaming_History_Audio_0.json") + 30
    end = data.rfind(b"PK\x01\x02")  # the central directory follows the member's data
    at = start + (end - start) * 9 // 10  # late in the compressed member: rows were committed
    data[at : at + 16] = b"\x00" * 16
    zipped.write_bytes(bytes(data))

    with pytest.raises(ScrobctlError, match="could not be read to the end") as caught:
        run_import(zipped)

    conn = sqlite3.connect(data_dir / "scrobctl.db")
    [(kept,)] = conn.execute("SELECT count(*) FROM plays").fetchall()
    conn.close()
    assert kept >= 1000  # committed 1,000 rows at a time
    assert f"the {kept:,} plays committed from it before were kept" in str(caught.value)
