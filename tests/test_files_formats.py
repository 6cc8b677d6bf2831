"""Last.fm, ListenBrainz, Trakt, IMDb and Simkl export files (api-notes file-formats.md §2, §3,
§5), each written from its documented shape, through `import --file`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.exports.files import (
    csv_text,
    jsonl_text,
    report_lines,
    run_import,
    write_json,
    write_zip,
)

GHAN_HEADER = [
    "uts",
    "utc_time",
    "artist",
    "artist_mbid",
    "album",
    "album_mbid",
    "track",
    "track_mbid",
]
MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"


def rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def plays(data_dir: Path) -> list[tuple[Any, ...]]:
    return rows(
        data_dir,
        "SELECT i.kind, coalesce(i.title, ''), i.artist, p.watched_at, p.source FROM plays p"
        " JOIN items i ON i.id = p.item_id ORDER BY p.watched_at",
    )


def ratings(data_dir: Path) -> list[tuple[Any, ...]]:
    return rows(
        data_dir,
        "SELECT i.kind, i.tmdb, i.imdb, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at",
    )


# -- Last.fm --------------------------------------------------------------------------------------


def ghan_csv(tmp_path: Path) -> Path:
    """lastfm.ghan.nl: `utc_time` holds a comma inside quotes (maloja#382)."""
    path = tmp_path / "recenttracks-rob-1.csv"
    path.write_text(
        csv_text(
            GHAN_HEADER,
            [
                [
                    1270468794,
                    "05 Apr 2010, 11:59",
                    "Zion I",
                    "",
                    "",
                    "",
                    "Temperature (Feat Talib Kweli)",
                    "",
                ],
                [
                    1270468500,
                    "05 Apr 2010, 11:55",
                    "Tyler, The Creator",
                    "",
                    "Goblin",
                    "",
                    "Yonkers",
                    MBID,
                ],
            ],
        )
    )
    return path


def test_lastfm_ghan_csv_reads_uts_and_quoted_commas(tmp_path: Path, data_dir: Path) -> None:
    result = run_import(ghan_csv(tmp_path))

    assert result.summary.plays == 2
    assert plays(data_dir) == [
        ("track", "Yonkers", "Tyler, The Creator", 1270468500, "file:lastfm"),
        ("track", "Temperature (Feat Talib Kweli)", "Zion I", 1270468794, "file:lastfm"),
    ]
    assert rows(data_dir, "SELECT mbid FROM items WHERE title = 'Yonkers'") == [(MBID,)]


def test_lastfm_date_text_csv_is_utc_without_a_header(tmp_path: Path, data_dir: Path) -> None:
    """benjaminbenben/lastfm-to-csv: artist, album, title, "%d %b %Y %H:%M" in UTC."""
    path = tmp_path / "rob.csv"
    path.write_text("Radiohead,OK Computer,Paranoid Android,15 Jun 2007 22:30\n")

    run_import(path)

    assert plays(data_dir) == [
        ("track", "Paranoid Android", "Radiohead", 1181946600, "file:lastfm")
    ]


def test_lastfm_date_text_csv_overlapping_the_uts_csv_adds_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    """Minute precision: 11:59 in the date text is the scrobble at 11:59:54."""
    dated = tmp_path / "rob.csv"
    dated.write_text("Zion I,,Temperature (Feat Talib Kweli),05 Apr 2010 11:59\n")

    run_import(ghan_csv(tmp_path))
    result = run_import(dated)

    assert (result.summary.plays, result.summary.duplicates) == (0, 1)


def test_lastfm_json_pages_skip_now_playing(tmp_path: Path, data_dir: Path) -> None:
    track = {
        "artist": {"#text": "Johnny Cash", "mbid": ""},
        "album": {"#text": "American IV", "mbid": ""},
        "name": "Hurt",
        "mbid": "",
        "date": {"uts": "1700000000", "#text": "14 Nov 2023, 22:13"},
        "url": "https://www.last.fm/music/Johnny+Cash/_/Hurt",
        "image": [],
        "streamable": "0",
    }
    playing = dict(track, date=None, **{"@attr": {"nowplaying": "true"}})
    path = write_json(
        tmp_path / "recenttracks-rob.json",
        [{"track": [playing, track], "@attr": {"page": "1", "totalPages": "1"}}],
    )

    result = run_import(path)

    assert result.summary.plays == 1
    assert result.summary.skipped == {"now playing (not a scrobble yet)": 1}


def test_lastfm_export_overlapping_its_api_import_adds_nothing(
    tmp_path: Path, data_dir: Path, store: Any
) -> None:
    from scrobctl.store.imports import ImportedPlay, ImportWriter
    from scrobctl.store.items import ItemRef

    ref = ItemRef(kind="track", ids={}, title="Hurt", artist="Johnny Cash", album="American IV")
    with store.transaction():
        ImportWriter(store, "default", "lastfm").play(ImportedPlay(ref, 1700000000))
    path = tmp_path / "recenttracks-rob-1.csv"
    path.write_text(
        csv_text(
            GHAN_HEADER,
            [[1700000000, "14 Nov 2023, 22:13", "Johnny Cash", "", "American IV", "", "Hurt", ""]],
        )
    )

    result = run_import(path)

    assert (result.summary.plays, result.summary.duplicates) == (0, 1)


# -- ListenBrainz ---------------------------------------------------------------------------------


def lb_listen(at: float, title: str, **meta: Any) -> dict[str, Any]:
    return {
        "listened_at": at,
        "inserted_at": at + 5.25,
        "track_metadata": {
            "artist_name": "Nine Inch Nails",
            "track_name": title,
            "release_name": "The Downward Spiral",
            "additional_info": {"recording_mbid": "not-the-recording", "duration_ms": 373_000},
            "recording_msid": "d23f4719-9212-49f0-ad08-ddbfbfc50d6f",
            **meta,
        },
    }


def test_listenbrainz_zip_reads_monthly_files_and_feedback(tmp_path: Path, data_dir: Path) -> None:
    """`listens/2021/4.jsonl` (month not zero-padded), decimal epochs, the server's MBID."""
    mapped = {"recording_mbid": MBID, "release_mbid": None, "artist_mbids": []}
    zipped = write_zip(
        tmp_path / "listenbrainz_rob_1700000000.zip",
        {
            "user.json": '{"user_id": 1, "username": "rob"}',
            "listens/2021/4.jsonl": jsonl_text(
                [
                    lb_listen(1618000000.5, "Hurt", mbid_mapping=mapped),
                    lb_listen(1618000600, "Closer", mbid_mapping=None),
                ]
            ),
            "listens/2021/12.jsonl": jsonl_text([lb_listen(1639000000, "Piggy")]),
            "feedback.jsonl": jsonl_text(
                [
                    {
                        "recording_msid": "x",
                        "recording_mbid": MBID,
                        "score": 1,
                        "created": 1640000000,
                    },
                    {
                        "recording_msid": "y",
                        "recording_mbid": None,
                        "score": -1,
                        "created": 1640000001,
                    },
                ]
            ),
            "pinned_recording.jsonl": "",
        },
    )

    result = run_import(zipped)

    assert result.summary.plays == 3
    assert [p[1] for p in plays(data_dir)] == ["Hurt", "Closer", "Piggy"]
    assert rows(data_dir, "SELECT title, mbid FROM items WHERE mbid IS NOT NULL") == [
        ("Hurt", MBID)
    ]
    assert rows(data_dir, "SELECT rating, rated_at, source FROM ratings") == [
        (10.0, 1640000000, "listenbrainz")
    ]
    assert result.summary.skipped == {"feedback on a recording with no listen in this export": 1}


def test_listenbrainz_old_single_json_is_read(tmp_path: Path, data_dir: Path) -> None:
    listen = lb_listen(1500000000, "Hurt")
    listen["user_name"] = "rob"
    path = write_json(tmp_path / "rob_lb-2023-01-01.json", [listen])

    run_import(path)

    assert plays(data_dir) == [
        ("track", "Hurt", "Nine Inch Nails", 1500000000, "file:listenbrainz")
    ]


# -- Trakt ----------------------------------------------------------------------------------------


def trakt_zip(tmp_path: Path) -> Path:
    """CrossWatch#363's history item; an episode as the API shapes it."""
    movie = {
        "title": "The Dark Knight",
        "year": 2008,
        "ids": {
            "trakt": 120,
            "slug": "the-dark-knight-2008",
            "imdb": "tt0468569",
            "tmdb": 155,
            "plex": {"guid": "x", "slug": "y"},
        },
    }
    episode = {
        "season": 1,
        "number": 2,
        "title": "The Kingsroad",
        "ids": {"trakt": 74, "tvdb": 3436411, "imdb": "tt1668746", "tmdb": 63057},
    }
    show = {
        "title": "Game of Thrones",
        "year": 2011,
        "ids": {"trakt": 1390, "tvdb": 121361, "imdb": "tt0944947", "tmdb": 1399},
    }
    return write_zip(
        tmp_path / "trakt-export.zip",
        {
            "watched-history-1.json": [
                {
                    "id": 587475858,
                    "watched_at": "2014-04-05T15:27:00.000Z",
                    "action": "scrobble",
                    "type": "movie",
                    "movie": movie,
                },
            ],
            "watched-history-2.json": [
                {
                    "id": 587475859,
                    "watched_at": "2014-04-06T20:00:00.000Z",
                    "action": "watch",
                    "type": "episode",
                    "episode": episode,
                    "show": show,
                },
            ],
            "watched-movies.json": [{"plays": 1, "movie": movie}],
            "ratings-movies.json": [
                {
                    "rated_at": "2014-04-05T17:00:00.000Z",
                    "rating": 9,
                    "type": "movie",
                    "movie": movie,
                }
            ],
            "ratings-shows.json": [
                {"rated_at": "2014-05-01T00:00:00.000Z", "rating": 8, "type": "show", "show": show}
            ],
            # /sync/ratings/seasons entries: the season's number and ids, and its show.
            "ratings-seasons.json": [
                {
                    "rated_at": "2014-05-02T00:00:00.000Z",
                    "rating": 7,
                    "type": "season",
                    "season": {"number": 1, "ids": {"trakt": 3950, "tvdb": 364731, "tmdb": 3624}},
                    "show": show,
                },
                {  # a season without ids of its own: its show's season 2
                    "rated_at": "2014-05-03T00:00:00.000Z",
                    "rating": 6,
                    "type": "season",
                    "season": {"number": 2, "ids": {}},
                    "show": show,
                },
            ],
            "ratings-episodes.json": [
                {
                    "rated_at": "2014-05-04T00:00:00.000Z",
                    "rating": 10,
                    "type": "episode",
                    "episode": episode,
                    "show": show,
                }
            ],
        },
    )


def test_trakt_export_history_and_ratings(tmp_path: Path, data_dir: Path) -> None:
    result = run_import(trakt_zip(tmp_path))

    assert (result.summary.plays, result.summary.ratings) == (2, 5)
    assert [(p[0], p[1], p[3]) for p in plays(data_dir)] == [
        ("movie", "The Dark Knight", 1396711620),
        ("episode", "The Kingsroad", 1396814400),
    ]
    assert ratings(data_dir) == [
        ("movie", 155, "tt0468569", 9.0, 1396717200, "trakt"),
        ("show", 1399, "tt0944947", 8.0, 1398902400, "trakt"),
        ("season", 3624, None, 7.0, 1398988800, "trakt"),
        ("season", None, None, 6.0, 1399075200, "trakt"),
        ("episode", 63057, "tt1668746", 10.0, 1399161600, "trakt"),
    ]
    assert result.summary.skipped == {}


def test_trakt_export_seasons_belong_to_their_show_and_the_episode_rating_to_its_play(
    tmp_path: Path, data_dir: Path
) -> None:
    run_import(trakt_zip(tmp_path))

    shows = rows(data_dir, "SELECT id FROM items WHERE kind = 'show'")
    assert len(shows) == 1
    seasons = rows(
        data_dir, "SELECT show_id, season FROM items WHERE kind = 'season' ORDER BY season"
    )
    assert seasons == [(shows[0][0], 1), (shows[0][0], 2)]
    # The rated episode is the item the history's play is of: one episode item.
    assert rows(data_dir, "SELECT count(*) FROM items WHERE kind = 'episode'") == [(1,)]


def test_trakt_export_again_adds_nothing(tmp_path: Path, data_dir: Path) -> None:
    run_import(trakt_zip(tmp_path))
    again = run_import(trakt_zip(tmp_path))

    assert (again.summary.plays, again.summary.duplicates) == (0, 2)
    assert (again.summary.ratings, again.summary.ratings_known) == (0, 5)
    assert len(plays(data_dir)) == 2
    assert len(ratings(data_dir)) == 5


def test_trakt_show_rating_from_the_export_and_from_the_api_are_one_item(
    tmp_path: Path, data_dir: Path
) -> None:
    """The same show rated through `import trakt` (ImportWriter, the API reader's refs), then
    re-rated in a later export: one item, one Trakt rating, the export's newer value."""
    from scrobctl.config import Settings
    from scrobctl.runtime import Runtime
    from scrobctl.store.imports import ImportedRating, ImportWriter
    from scrobctl.store.items import ItemRef

    runtime = Runtime(settings=Settings(), warn=lambda _m: None)
    try:
        with runtime.store().transaction():
            show = ItemRef("show", {"trakt": 1390, "tmdb": 1399}, title="Game of Thrones")
            ImportWriter(runtime.store(), "default", "trakt").rating(
                ImportedRating(show, 6.0, 1300000000)
            )
    finally:
        runtime.close()

    run_import(trakt_zip(tmp_path))

    assert rows(data_dir, "SELECT count(*) FROM items WHERE kind = 'show'") == [(1,)]
    shown = [r for r in ratings(data_dir) if r[0] == "show"]
    assert shown == [("show", 1399, "tt0944947", 8.0, 1398902400, "trakt")]


# -- IMDb -----------------------------------------------------------------------------------------

IMDB_HEADER = [
    "Const",
    "Your Rating",
    "Date Rated",
    "Title",
    "Original Title",
    "URL",
    "Title Type",
    "IMDb Rating",
    "Runtime (mins)",
    "Year",
    "Genres",
    "Num Votes",
    "Release Date",
    "Directors",
]


def imdb_row(const: str, rating: int, kind: str, title: str, year: str) -> list[Any]:
    url = f"https://www.imdb.com/title/{const}/"
    return [
        const,
        rating,
        "2024-06-01",
        title,
        title,
        url,
        kind,
        8.0,
        120,
        year,
        "Drama",
        1000,
        "1999-03-31",
        "Someone",
    ]


def test_imdb_ratings_read_both_title_type_spellings(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text(
        csv_text(
            IMDB_HEADER,
            [
                imdb_row("tt0133093", 9, "Movie", "The Matrix", "1999"),
                imdb_row("tt0234215", 6, "movie", "The Matrix Reloaded", "2003"),
                imdb_row("tt1668746", 8, "TV Episode", "The Kingsroad", "2011"),
                imdb_row(
                    "tt0903747", 10, "TV Series", "Breaking Bad", "2008\u20132013"
                ),  # an en dash, as IMDb writes ranges
                imdb_row("tt0944947", 9, "tvSeries", "Game of Thrones", "2011"),
                imdb_row("tt0185906", 10, "TV Mini Series", "Band of Brothers", "2001"),
                imdb_row("tt7366338", 9, "tvMiniSeries", "Chernobyl", "2019"),
                imdb_row("tt0959621", 9, "tvEpisode", "Pilot", "2008"),
            ],
        )
    )

    result = run_import(path)

    assert result.summary.ratings == 8
    got = rows(
        data_dir,
        "SELECT i.kind, i.imdb, i.year, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY i.imdb",
    )
    noon = 1717243200
    assert got == [
        ("movie", "tt0133093", 1999, 9.0, noon, "imdb"),
        ("show", "tt0185906", 2001, 10.0, noon, "imdb"),
        ("movie", "tt0234215", 2003, 6.0, noon, "imdb"),
        ("show", "tt0903747", 2008, 10.0, noon, "imdb"),  # the range's first year
        ("show", "tt0944947", 2011, 9.0, noon, "imdb"),
        ("episode", "tt0959621", None, 9.0, noon, "imdb"),
        ("episode", "tt1668746", None, 8.0, noon, "imdb"),
        ("show", "tt7366338", 2019, 9.0, noon, "imdb"),
    ]
    assert result.summary.skipped == {}
    assert plays(data_dir) == []


def test_imdb_series_rating_is_the_show_of_a_trakt_history_with_that_imdb_id(
    tmp_path: Path, data_dir: Path
) -> None:
    """Matched by `Const` only: the IMDb row and Trakt's show (ids.imdb tt0944947) are one item,
    whatever the titles say."""
    run_import(trakt_zip(tmp_path))
    path = tmp_path / "ratings.csv"
    path.write_text(csv_text(IMDB_HEADER, [imdb_row("tt0944947", 9, "TV Series", "GoT", "2011")]))

    first = run_import(path)
    again = run_import(path)

    assert rows(data_dir, "SELECT count(*) FROM items WHERE kind = 'show'") == [(1,)]
    assert [r for r in ratings(data_dir) if r[0] == "show"] == [
        ("show", 1399, "tt0944947", 8.0, 1398902400, "trakt"),
        ("show", 1399, "tt0944947", 9.0, 1717243200, "imdb"),
    ]
    assert (first.summary.ratings, again.summary.ratings, again.summary.ratings_known) == (1, 0, 1)


# -- Simkl ----------------------------------------------------------------------------------------


def test_simkl_backup_movies_shows_and_anime(tmp_path: Path, data_dir: Path) -> None:
    backup = {
        "movies": [
            {
                "movie": {
                    "title": "The Matrix",
                    "year": 1999,
                    "ids": {"simkl": 53992, "imdb": "tt0133093", "tmdb": "603", "tvdb": ""},
                },
                "status": "completed",
                "last_watched_at": "2024-01-02T20:00:00Z",
                "user_rating": 9,
                "user_rated_at": "2024-01-03T10:00:00Z",
            },
            {
                "movie": {"title": "Dune", "year": 2021, "ids": {"simkl": 1, "tmdb": 438631}},
                "status": "plantowatch",
                "added_to_watchlist_at": "2024-01-01T00:00:00Z",
            },
        ],
        "shows": [
            {
                "show": {"title": "Severance", "year": 2022, "ids": {"simkl": 9, "tvdb": 371980}},
                "status": "watching",
                "user_rating": 10,
                "user_rated_at": "2024-02-02T18:53:20Z",
                "seasons": [
                    {
                        "number": 1,
                        "episodes": [
                            {"number": 1, "watched_at": "2024-02-01T21:00:00Z"},
                            {"number": 2, "watched_at": "2024-02-02T21:00:00Z"},
                        ],
                    }
                ],
            },
        ],
        "anime": [
            {
                "show": {
                    "title": "Frieren",
                    "year": 2023,
                    "ids": {"simkl": 7, "mal": 52991, "tmdb": 209867},
                },
                "anime_type": "tv",
                "status": "watching",
                "user_rating": 8,
                "user_rated_at": "2024-03-01T13:33:20Z",
                "seasons": [
                    {"number": 1, "episodes": [{"number": 1, "watched_at": "2024-03-01T12:00:00Z"}]}
                ],
            },
        ],
    }
    path = write_json(tmp_path / "SimklBackup.json", backup)

    result = run_import(path)

    assert (result.summary.plays, result.summary.ratings) == (4, 3)
    assert [(p[0], p[3]) for p in plays(data_dir)] == [
        ("movie", 1704225600),
        ("episode", 1706821200),
        ("episode", 1706907600),
        ("episode", 1709294400),
    ]
    assert ratings(data_dir) == [
        ("movie", 603, "tt0133093", 9.0, 1704276000, "simkl"),
        ("show", None, None, 10.0, 1706900000, "simkl"),
        ("show", 209867, None, 8.0, 1709300000, "simkl"),
    ]
    assert rows(
        data_dir, "SELECT title, tvdb, simkl FROM items WHERE kind = 'show' ORDER BY simkl"
    ) == [("Frieren", None, 7), ("Severance", 371980, 9)]
    assert result.summary.skipped == {"not watched (plantowatch)": 1}
    again = run_import(path)
    assert (again.summary.plays, again.summary.ratings, again.summary.ratings_known) == (0, 0, 3)


# -- every row not imported is in the report ------------------------------------------------------


def test_report_lists_every_row_not_imported(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "recenttracks-rob-1.csv"
    path.write_text(
        csv_text(
            GHAN_HEADER,
            [
                [1700000000, "x", "A", "", "", "", "T", ""],
                [1700000000, "x", "A", "", "", "", "T", ""],  # the same scrobble twice
                ["soon", "x", "A", "", "", "", "T", ""],
            ],
        )
    )

    result = run_import(path)

    outcomes = sorted((e["row"], e["outcome"]) for e in report_lines(result))
    assert outcomes == [(3, "duplicate"), (4, "invalid")]
    assert result.summary.unreadable == 1


def test_rows_of_the_wrong_types_are_unreadable_not_a_crash(tmp_path: Path, data_dir: Path) -> None:
    """Every JSON format, fed values of the wrong type where times, names and ids belong."""
    hostile: list[Any] = [3, None, [], {}, "x", True, {"a": 1}]
    files = {
        "Streaming_History_Audio_0.json": [{"ts": v, "ms_played": v} for v in hostile],
        "StreamingHistory0.json": [{"endTime": v, "msPlayed": v, "trackName": v} for v in hostile],
        "recenttracks-x.json": [
            {
                "track": [
                    {"date": v, "artist": v, "name": v, "album": v, "#text": v} for v in hostile
                ]
            }
        ],
        "rob_lb-2020-01-01.json": [
            {
                "listened_at": v,
                "track_metadata": {
                    "track_name": v,
                    "artist_name": v,
                    "additional_info": v,
                    "mbid_mapping": v,
                },
            }
            for v in hostile
        ],
        "watched-history-1.json": [
            {
                "watched_at": v,
                "action": "scrobble",
                "type": "movie",
                "movie": {"title": v, "ids": v},
            }
            for v in hostile
        ],
        "SimklBackup.json": {
            "movies": [
                {"movie": {"ids": v}, "status": "completed", "last_watched_at": v, "user_rating": v}
                for v in hostile
            ],
            "shows": [
                {
                    "show": {"ids": v},
                    "seasons": [{"number": v, "episodes": [{"number": v, "watched_at": v}]}],
                }
                for v in hostile
            ],
        },
    }
    for name, value in files.items():
        result = run_import(write_json(tmp_path / name, value))
        assert result.summary.plays == 0, name
