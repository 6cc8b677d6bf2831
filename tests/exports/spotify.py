"""Spotify extended streaming history rows, written from the documented format (api-notes
file-formats.md §1a: the fields of Spotify's ReadMeFirst PDF as of October 2023, the newer
`ip_addr` and audiobook fields), for tests and the benchmark.

`history(n)` is a deterministic mix whose counts are known in advance: tracks played long enough,
short skips, podcast episodes (long and short), incognito plays and the export's repeated rows.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

START = 1_600_000_000  # 2020-09-13


def ts(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def track_row(
    end: int, ms: int, title: str, artist: str, album: str, **over: Any
) -> dict[str, Any]:
    row = {
        "ts": ts(end),
        "platform": "android",
        "ms_played": ms,
        "conn_country": "SI",
        "ip_addr": "203.0.113.x",
        "master_metadata_track_name": title,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": f"spotify:track:{zlib.crc32(f'{artist}/{title}'.encode()):022d}",
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "audiobook_title": None,
        "audiobook_uri": None,
        "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "offline_timestamp": None,
        "incognito_mode": False,
    }
    row.update(over)
    return row


def episode_row(end: int, ms: int, episode: str, show: str, **over: Any) -> dict[str, Any]:
    row = track_row(end, ms, "", "", "")
    row.update(
        master_metadata_track_name=None,
        master_metadata_album_artist_name=None,
        master_metadata_album_album_name=None,
        spotify_track_uri=None,
        episode_name=episode,
        episode_show_name=show,
        spotify_episode_uri=f"spotify:episode:{zlib.crc32(episode.encode()):022d}",
    )
    row.update(over)
    return row


@dataclass
class Expected:
    rows: int = 0
    plays: int = 0
    below: int = 0
    incognito: int = 0
    repeats: int = 0


def history(n: int, *, tracks: int = 5_000) -> tuple[Iterator[dict[str, Any]], Expected]:
    """`n` rows, one every 4 minutes, and the counts they imply. Of every 20 rows: 13 tracks
    played 3 min, 1 incognito track, 3 short skips (10 s), 1 long podcast episode (20 min), 1
    short one (2 min), 1 exact repeat of the track before with `ts` a minute later. Track i of
    the library is played at rows i, tracks + i, ... so plays of one track are hours apart."""
    expected = Expected(rows=n)
    for i in range(n):
        slot = i % 20
        if slot == 19:
            expected.repeats += 1
        elif slot in (13, 14, 15, 17):
            expected.below += 1
        elif slot == 12:
            expected.incognito += 1
        else:
            expected.plays += 1

    def rows() -> Iterator[dict[str, Any]]:
        previous: dict[str, Any] | None = None
        for i in range(n):
            slot = i % 20
            end = START + i * 240
            t = i % tracks
            title, artist, album = f"Song {t}", f"Artist {t % 700}", f"Album {t % 1500}"
            if slot == 19 and previous is not None:
                row = dict(previous, ts=ts(end - 180))  # the export's repeat
            elif slot in (13, 14, 15):
                row = track_row(
                    end, 10_000, title, artist, album, reason_end="fwdbtn", skipped=True
                )
            elif slot == 16:
                row = episode_row(end, 1_200_000, f"Episode {i}", "The Show")
            elif slot == 17:
                row = episode_row(end, 120_000, f"Episode {i}", "The Show")
            elif slot == 12:
                row = track_row(end, 180_000, title, artist, album, incognito_mode=True)
            else:
                row = track_row(end, 180_000, title, artist, album)
            previous = row
            yield row

    return rows(), expected


def write_zip(path: Path, rows: Iterator[dict[str, Any]], *, per_file: int = 20_000) -> Path:
    """The rows as `Streaming_History_Audio_<n>.json` arrays in one zip, as Spotify ships them,
    with the PDF and a video file beside them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(
            "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf",
            b"%PDF-1.4",
        )
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Video_2020.json", "[]"
        )
        index, buffer, count = 0, io.StringIO(), 0

        def flush() -> None:
            nonlocal index, buffer, count
            name = f"Spotify Extended Streaming History/Streaming_History_Audio_2020_{index}.json"
            archive.writestr(name, "[" + buffer.getvalue().rstrip(",") + "]")
            index, buffer, count = index + 1, io.StringIO(), 0

        for row in rows:
            buffer.write(json.dumps(row) + ",")
            count += 1
            if count == per_file:
                flush()
        if count:
            flush()
    return path
