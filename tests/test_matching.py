"""Matching plays across services (issue 21): normalised music keys, ids for video, time
tolerance per pair of services, each target play matched once."""

from __future__ import annotations

from typing import Any

from scrobctl.sync.matching import Play, TargetIndex, fold, music_key, tolerance


def track(
    ref: int, at: int, artist: str, title: str, *, item: int = 0, origin: str = "lastfm", **ids: Any
) -> Play:
    return Play(
        ref, "track", at, item or ref, origin, ids, artist=artist, title=title, duration_ms=200_000
    )


def test_fold_drops_case_diacritics_and_punctuation() -> None:
    assert fold("Beyoncé!") == fold("BEYONCE") == "beyonce"
    assert fold("  Sigur   Rós ") == "sigur ros"


def test_music_key_moves_featured_artists_out_of_the_title() -> None:
    key = music_key("Artist", "Song (feat. Guest)")

    assert key == music_key("Artist feat. Guest", "Song")
    assert key == music_key("artist ft. guest", "SONG")
    assert key == music_key("Guest & Artist", "Song")
    assert key == music_key("Artist", "Song [with Guest]")


def test_music_key_ignores_artist_order() -> None:
    assert music_key("Simon & Garfunkel", "The Boxer") == music_key("Garfunkel, Simon", "The Boxer")


def test_music_key_drops_remaster_and_live_notes() -> None:
    plain = music_key("The Beatles", "Help!")

    assert music_key("The Beatles", "Help! (Remastered 2009)") == plain
    assert music_key("The Beatles", "Help! - 2009 Remaster") == plain
    assert music_key("The Beatles", "Help! [Live]") == plain


def test_music_key_keeps_titles_that_merely_contain_with() -> None:
    assert music_key("Sam Smith", "Stay With Me") != music_key("Sam Smith", "Stay")


def test_music_key_needs_artist_and_title() -> None:
    assert music_key(None, "Song") is None
    assert music_key("Artist", "") is None


def test_different_songs_do_not_match() -> None:
    assert music_key("Artist", "Song A") != music_key("Artist", "Song B")


def test_tolerance_follows_both_services_and_stays_under_half_a_track() -> None:
    assert tolerance("lastfm", "listenbrainz", "track", 200_000) == 20
    assert tolerance("trakt", "simkl", "episode") == 120
    # A Letterboxd day against Trakt minutes: most of a day, for video.
    assert tolerance("file:letterboxd", "trakt", "movie") == 12 * 3600 + 60
    # A 10-second jingle heard twice in a row is two plays, whatever the services' slack.
    assert tolerance("file:spotify", "trakt", "track", 10_000) < 5


def test_match_by_title_is_weak_and_by_mbid_strong() -> None:
    index = TargetIndex(
        [
            track(1, 1000, "artist feat. guest", "song", item=11, origin="listenbrainz"),
            track(2, 5000, "Other", "Tune", item=12, origin="listenbrainz", mbid="ABC"),
        ]
    )

    weak = index.match(track(100, 1001, "Artist", "Song (feat. Guest)", item=21))
    strong = index.match(track(101, 5000, "Someone", "Else", item=22, mbid="abc"))

    assert weak is not None and weak.target.ref == 1 and weak.how == "title" and weak.weak
    assert strong is not None and strong.target.ref == 2 and strong.how == "id"


def test_match_outside_the_tolerance_is_no_match() -> None:
    index = TargetIndex([track(1, 1000, "Artist", "Song", origin="listenbrainz")])

    assert index.match(track(100, 1030, "Artist", "Song", item=1)) is None
    assert index.match(track(101, 1020, "Artist", "Song", item=1)) is not None


def test_a_target_play_matches_one_source_play_only() -> None:
    index = TargetIndex([track(1, 1000, "Artist", "Song", item=5, origin="listenbrainz")])

    first = index.match(track(100, 1000, "Artist", "Song", item=5))
    second = index.match(track(101, 1001, "Artist", "Song", item=5))

    assert first is not None and second is None


def test_the_nearest_target_play_is_taken() -> None:
    index = TargetIndex(
        [
            track(1, 990, "A", "S", item=5, origin="listenbrainz"),
            track(2, 1001, "A", "S", item=5, origin="listenbrainz"),
        ]
    )

    found = index.match(track(100, 1000, "A", "S", item=5))

    assert found is not None and found.target.ref == 2


def test_same_archive_item_of_a_track_with_ids_is_an_id_match() -> None:
    index = TargetIndex([track(1, 1000, "A", "S", item=5, origin="listenbrainz", isrc="X")])

    found = index.match(track(100, 1000, "A", "S", item=5, isrc="X"))

    assert found is not None and found.how == "id"


def movie(ref: int, at: int, origin: str, **ids: Any) -> Play:
    return Play(ref, "movie", at, ref, origin, ids, title="The Matrix")


def episode(ref: int, at: int, origin: str, season: int, number: int, **show_ids: Any) -> Play:
    return Play(ref, "episode", at, ref, origin, {}, show_ids, season, number)


def test_video_matches_by_ids_within_minutes() -> None:
    index = TargetIndex([movie(1, 10_000, "simkl", imdb="tt0133093")])

    found = index.match(movie(100, 10_090, "trakt", tmdb=603, imdb="tt0133093"))

    assert found is not None and found.how == "id"


def test_video_never_matches_by_title() -> None:
    index = TargetIndex([movie(1, 10_000, "simkl", tmdb=604)])

    assert index.match(movie(100, 10_000, "trakt", tmdb=603)) is None


def test_episodes_match_by_show_ids_season_and_number() -> None:
    index = TargetIndex([episode(1, 50_000, "simkl", 1, 2, tvdb=371980)])

    same = index.match(episode(100, 50_030, "trakt", 1, 2, tvdb=371980, tmdb=95396))
    other = index.match(episode(101, 50_030, "trakt", 1, 3, tvdb=371980))

    assert same is not None and same.how == "id"
    assert other is None


def test_a_letterboxd_day_matches_a_trakt_evening() -> None:
    noon = 1_700_000_000 - 1_700_000_000 % 86_400 + 12 * 3600
    index = TargetIndex([movie(1, noon + 8 * 3600, "trakt", tmdb=603)])

    found = index.match(movie(100, noon, "file:letterboxd", tmdb=603))

    assert found is not None


def test_index_of_many_plays_finds_each_of_them() -> None:
    target = [
        track(
            i,
            1_000_000 + i * 180,
            f"artist {i % 30}",
            f"track {i % 150}",
            item=i,
            origin="listenbrainz",
        )
        for i in range(0, 20_000, 4)
    ]
    index = TargetIndex(target)
    found = 0
    for i in range(20_000):
        if index.match(
            track(
                10**6 + i,
                1_000_000 + i * 180,
                f"Artist {i % 30}",
                f"Track {i % 150}",
                item=10**6 + i,
            )
        ):
            found += 1

    assert found == 5_000
