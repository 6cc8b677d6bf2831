"""The source formats of `scrobctl serve`, body to events, without a server: the quirks each
source's documentation and code show (shared/api-notes/file-formats.md §6; ListenBrainz's
api.py/api_tools.py; Last.fm's track.scrobble)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from scrobctl.scrobble.events import Event
from scrobctl.serve import emby, jellyfin, lastfm, listenbrainz, plex
from scrobctl.serve.common import BadBody, Source, as_int, load_json_object
from scrobctl.serve.receiver import to_lines
from scrobctl.serve.tokens import ServeTokens

ALL = Source("src")


def plex_payload(event: str, **metadata: Any) -> dict[str, Any]:
    return {"event": event, "Account": {"id": 7, "title": "alice"}, "Metadata": metadata}


def test_plex_scrobble_without_view_offset_counts_as_ninety_percent() -> None:
    parsed = plex.parse(
        plex_payload(
            "media.scrobble", type="movie", duration=6_000_000, Guid=[{"id": "tmdb://603"}]
        ),
        ALL,
    )

    [event] = parsed.events
    assert event["event"] == "stop" and event["percentage"] == 90.0
    assert event["ids"] == {"tmdb": 603}


def test_plex_stop_without_a_position_is_not_a_play() -> None:
    parsed = plex.parse(
        plex_payload("media.stop", type="movie", duration=6_000_000, Guid=[{"id": "tmdb://603"}]),
        ALL,
    )

    assert parsed.events[0]["event"] == "pause"


def test_plex_legacy_tvdb_guid_gives_the_show_id_season_and_episode() -> None:
    parsed = plex.parse(
        plex_payload(
            "media.scrobble",
            type="episode",
            duration=3_000_000,
            guid="com.plexapp.agents.thetvdb://121361/3/9?lang=en",
        ),
        ALL,
    )

    [event] = parsed.events
    assert event["show"]["ids"] == {"tvdb": 121361}
    assert (event["season"], event["number"]) == (3, 9)
    assert Event.model_validate(event).show.ids.tvdb == 121361  # type: ignore[union-attr]


def test_plex_track_uses_the_track_artist_over_the_album_artist() -> None:
    parsed = plex.parse(
        plex_payload(
            "media.scrobble",
            type="track",
            title="Hurt",
            grandparentTitle="Various Artists",
            originalTitle="Johnny Cash",
            parentTitle="Covers",
            duration=218_000,
            Guid=[{"id": "mbid://8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"}],
        ),
        ALL,
    )

    [event] = parsed.events
    assert event["artist"] == "Johnny Cash" and event["album"] == "Covers"
    assert event["ids"] == {"mbid": "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"}


def test_plex_rate_becomes_a_rating_without_a_play() -> None:
    parsed = plex.parse(
        plex_payload("media.rate", type="movie", userRating=8.0, Guid=[{"id": "imdb://tt0133093"}]),
        ALL,
    )

    [event] = parsed.events
    assert event["rating"] == 8.0 and "percentage" not in event and "watched_ms" not in event


def test_plex_account_filter_matches_title_or_id_ignoring_case() -> None:
    payload = plex_payload("media.play", type="movie", Guid=[{"id": "tmdb://1"}])

    assert plex.parse(payload, Source("p", account="ALICE")).ignored is None
    assert plex.parse(payload, Source("p", account="7")).ignored is None
    assert "another Plex account" in (plex.parse(payload, Source("p", account="bob")).ignored or "")


def test_plex_library_events_are_ignored_not_refused() -> None:
    assert "not a playback event" in (plex.parse({"event": "library.new"}, ALL).ignored or "")


def test_jellyfin_template_strings_become_numbers_and_booleans() -> None:
    body = {
        "NotificationType": "PlaybackStop",
        "ItemType": "Movie",
        "Name": "The Matrix",
        "RunTimeTicks": "81600000000",
        "PlaybackPositionTicks": "12",
        "PlayedToCompletion": "True",
        "Provider_tmdb": "603",
        "Year": "1999",
    }

    [event] = jellyfin.parse(body, ALL).events

    assert event["percentage"] == 100.0 and event["duration_ms"] == 8_160_000
    assert event["ids"] == {"tmdb": 603} and event["year"] == 1999


def test_jellyfin_stop_short_of_completion_uses_the_position_ticks() -> None:
    body = {
        "NotificationType": "PlaybackStop",
        "ItemType": "Audio",
        "Name": "Hurt",
        "Artist": "Johnny Cash",
        "RunTimeTicks": 2_180_000_000,
        "PlaybackPositionTicks": 1_500_000_000,
        "PlayedToCompletion": "False",
    }

    [event] = jellyfin.parse(body, ALL).events

    assert event["watched_ms"] == 150_000 and event["type"] == "track"


def test_emby_position_beyond_32_bits_is_read() -> None:
    body = {
        "Event": "playback.stop",
        "User": {"Name": "rob"},
        "Item": {"Type": "Episode", "RunTimeTicks": 25_000_000_000, "ProviderIds": {}},
        "PlaybackInfo": {"PositionTicks": 17_431_791_950},
    }

    [event] = emby.parse(body, ALL).events

    assert event["watched_ms"] == 1_743_179


def test_emby_test_notification_is_acknowledged() -> None:
    assert "test" in (emby.parse({"Event": "system.webhooktest"}, ALL).ignored or "")


def lb_body(**listen: Any) -> bytes:
    return json.dumps({"listen_type": "import", "payload": [listen]}).encode()


def test_listenbrainz_drops_an_empty_release_name() -> None:
    meta = {"artist_name": "A", "track_name": "T", "release_name": "  "}

    [event] = listenbrainz.parse(
        lb_body(listened_at=1_700_000_000, track_metadata=meta), ALL
    ).events

    assert "album" not in event


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"duration": 200, "duration_ms": 200_000}, "both duration and duration_ms"),
        ({"duration_ms": -1}, "duration_ms is invalid"),
        ({"recording_mbid": "not-a-uuid"}, "recording_mbid MBID format invalid."),
    ],
)
def test_listenbrainz_refuses_what_the_server_refuses(info: dict[str, Any], message: str) -> None:
    meta = {"artist_name": "A", "track_name": "T", "additional_info": info}

    with pytest.raises(BadBody, match=message):
        listenbrainz.parse(lb_body(listened_at=1_700_000_000, track_metadata=meta), ALL)


def test_listenbrainz_limits_the_bytes_per_listen() -> None:
    meta = {"artist_name": "A", "track_name": "T" * 11_000}

    with pytest.raises(BadBody, match="Each listens may not be larger than 10240 bytes"):
        listenbrainz.parse(lb_body(listened_at=1_700_000_000, track_metadata=meta), ALL)


def test_listenbrainz_playing_now_is_a_start_event() -> None:
    body = json.dumps(
        {
            "listen_type": "playing_now",
            "payload": [{"track_metadata": {"artist_name": "A", "track_name": "T"}}],
        }
    ).encode()

    [event] = listenbrainz.parse(body, ALL).events

    assert event["event"] == "start" and "watched_at" not in event


def test_listenbrainz_a_listen_ahead_of_the_clock_is_refused_whole() -> None:
    meta = {"artist_name": "A", "track_name": "T"}

    with pytest.raises(BadBody, match="too high"):
        listenbrainz.parse(lb_body(listened_at=int(time.time()) + 900, track_metadata=meta), ALL)


def test_lastfm_indexed_and_single_forms_give_the_same_scrobbles() -> None:
    single = {"method": "track.scrobble", "artist": "A", "track": "T", "timestamp": "1700000000"}
    indexed = {
        "method": "track.scrobble",
        "artist[0]": "A",
        "track[0]": "T",
        "timestamp[0]": "1700000000",
    }

    assert lastfm.parse_scrobbles(single, ALL).events == lastfm.parse_scrobbles(indexed, ALL).events


def test_lastfm_scrobble_without_a_timestamp_is_error_six() -> None:
    with pytest.raises(lastfm.LastfmError) as caught:
        lastfm.parse_scrobbles({"artist": "A", "track": "T"}, ALL)

    assert caught.value.code == 6


def test_lastfm_more_than_fifty_scrobbles_is_refused() -> None:
    params = {}
    for i in range(51):
        params |= {f"artist[{i}]": "A", f"track[{i}]": f"T{i}", f"timestamp[{i}]": "1700000000"}

    with pytest.raises(lastfm.LastfmError, match="at most 50"):
        lastfm.parse_scrobbles(params, ALL)


def test_lastfm_error_answer_is_what_pylast_reads() -> None:
    from xml.dom import minidom

    doc = minidom.parseString(
        lastfm.error_answer(lastfm.LastfmError(*lastfm.INVALID_SESSION), False)
    )

    assert doc.documentElement.getAttribute("status") == "failed"
    assert doc.getElementsByTagName("error")[0].getAttribute("code") == "9"


def test_invalid_event_refuses_the_whole_request() -> None:
    good = {"type": "track", "title": "T", "artist": "A", "percentage": 100, "duration_ms": 200_000}

    with pytest.raises(BadBody, match=r"event 2: .*needs 'title' and 'artist'"):
        to_lines([good, {"type": "track", "title": "T"}])


@pytest.mark.parametrize(
    ("raw", "value"), [("01", 1), ("1.7E10", 17_000_000_000), ("", None), (True, None), ("x", None)]
)
def test_as_int_reads_template_numbers(raw: Any, value: int | None) -> None:
    assert as_int(raw) == value


@pytest.mark.parametrize("raw", [b"", b"NaN", b"[1]", b"\xff", b"{" * 100_000])
def test_load_json_object_refuses_with_a_reason(raw: bytes) -> None:
    with pytest.raises(BadBody):
        load_json_object(raw)


def test_serve_tokens_keep_only_hashes(tmp_path: Any) -> None:
    store = ServeTokens(tmp_path)

    token = store.add("plex", "default", "alice", replace=False)

    assert token not in store.path.read_text()
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.verifier().source(token) == Source("plex", "default", "alice")
    assert store.verifier().source(token.upper() + "x") is None


def test_serve_token_replace_revokes_the_old_one(tmp_path: Any) -> None:
    store = ServeTokens(tmp_path)
    old = store.add("plex", replace=False)

    new = store.add("plex", replace=True)

    assert store.current().source(old) is None and store.current().source(new) is not None
