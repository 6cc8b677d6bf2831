"""Now-playing (scrobble/nowplaying.py): a start event read by `scrobctl scrobble` goes out at
once to the services routed for its type (Last.fm track.updateNowPlaying, ListenBrainz
playing_now, Trakt and Simkl /scrobble/start), is never queued, is dropped when stale, and
reports failures instead of raising them. respx stands in for all four services."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pylast
import pytest
import respx

from scrobctl import __version__
from scrobctl.runtime import Runtime
from scrobctl.scrobble.nowplaying import NowPlayingResult, send_now_playing
from scrobctl.scrobble.service import IngestResult, ingest_events
from scrobctl.store import connections, job_counts
from tests.conftest import FakeClock
from tests.helpers import (
    LASTFM_APP,
    LASTFM_SESSION,
    LB_TOKEN,
    SIMKL_CLIENT_ID,
    TRAKT_ACCESS,
)

PROFILE = "default"
LASTFM = "https://ws.audioscrobbler.com/2.0/"
LISTENBRAINZ = "https://api.listenbrainz.org/1/submit-listens"
TRAKT = "https://api.trakt.tv/scrobble/start"
SIMKL = "https://api.simkl.com/scrobble/start"
SESSION_KEY, TRAKT_TOKEN = LASTFM_SESSION, TRAKT_ACCESS
WEEK = 7 * 86_400
MATRIX = {"tmdb": 603, "imdb": "tt0133093"}


@pytest.fixture
def services() -> Iterator[respx.MockRouter]:
    """Every now-playing endpoint answering as its service does on success."""
    with respx.mock(assert_all_called=False) as router:
        ignored = {"code": "0", "#text": ""}
        router.post(LASTFM, name="lastfm").respond(
            200, json={"nowplaying": {"track": {"#text": "Hurt"}, "ignoredMessage": ignored}}
        )
        router.post(LISTENBRAINZ, name="listenbrainz").respond(200, json={"status": "ok"})
        router.post(TRAKT, name="trakt").respond(201, json={"id": 0, "action": "start"})
        router.post(SIMKL, name="simkl").respond(201, json={"action": "start"})
        yield router


def announce(runtime: Runtime, *events: dict[str, Any]) -> tuple[IngestResult, list]:
    """What `scrobctl scrobble` does with its input: queue the plays, then announce the starts."""
    stream = io.BytesIO("".join(json.dumps(e) + "\n" for e in events).encode())
    result = ingest_events(runtime, stream)
    return result, asyncio.run(send_now_playing(runtime, result.starts, result.routes))


def track_start(clock: FakeClock, started_ago: int = 10) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "start",
        "title": "Hurt",
        "artist": "Johnny Cash",
        "album": "American IV",
        "duration_ms": 218_000,
        "watched_at": int(clock.now()) - started_ago,
    }


def movie_start(clock: FakeClock) -> dict[str, Any]:
    return {
        "type": "movie",
        "event": "start",
        "ids": MATRIX,
        "duration_ms": 8_160_000,
        "percentage": 12.5,
        "watched_at": int(clock.now()) - 60,
    }


def body(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# -- tracks -----------------------------------------------------------------------------------


def test_nowplaying_track_start_goes_to_lastfm_update_now_playing_signed(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(logged_in_everywhere, track_start(clock))

    request = services["lastfm"].calls.last.request
    params = dict(parse_qsl(request.content.decode()))
    assert request.method == "POST"
    signature = params.pop("api_sig")
    assert params == {
        "method": "track.updateNowPlaying",
        "artist": "Johnny Cash",
        "track": "Hurt",
        "album": "American IV",
        "duration": "218",
        "api_key": LASTFM_APP["api_key"],
        "sk": SESSION_KEY,
        "format": "json",
    }
    network = pylast.LastFMNetwork(
        api_key=LASTFM_APP["api_key"],
        api_secret=LASTFM_APP["api_secret"],
        session_key=SESSION_KEY,
    )
    signed = {k: v for k, v in params.items() if k not in ("method", "api_key", "sk", "format")}
    oracle = pylast._Request(network, "track.updateNowPlaying", signed)
    assert signature == oracle.params["api_sig"]
    assert NowPlayingResult(PROFILE, "lastfm") in results


def test_nowplaying_track_start_goes_to_listenbrainz_as_playing_now_without_listened_at(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(logged_in_everywhere, track_start(clock))

    route = services["listenbrainz"]
    assert route.calls.last.request.headers["authorization"] == f"Token {LB_TOKEN}"
    sent = body(route)
    assert sent["listen_type"] == "playing_now"
    (listen,) = sent["payload"]
    assert list(listen) == ["track_metadata"]  # no listened_at
    metadata = listen["track_metadata"]
    assert (metadata["artist_name"], metadata["track_name"]) == ("Johnny Cash", "Hurt")
    assert metadata["release_name"] == "American IV"
    assert NowPlayingResult(PROFILE, "listenbrainz") in results


def test_nowplaying_track_start_goes_to_no_video_service(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(logged_in_everywhere, track_start(clock))

    assert sorted(r.service for r in results) == ["lastfm", "listenbrainz"]
    assert not services["trakt"].called and not services["simkl"].called


# -- video ------------------------------------------------------------------------------------


def test_nowplaying_movie_start_goes_to_trakt_scrobble_start_with_progress(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(logged_in_everywhere, movie_start(clock))

    route = services["trakt"]
    assert body(route) == {"movie": {"ids": MATRIX}, "progress": 12.5}
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TRAKT_TOKEN}"
    assert NowPlayingResult(PROFILE, "trakt") in results


def test_nowplaying_movie_start_goes_to_simkl_scrobble_start_with_progress(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(logged_in_everywhere, movie_start(clock))

    route = services["simkl"]
    assert body(route) == {"movie": {"ids": MATRIX}, "progress": 12.5}
    params = dict(route.calls.last.request.url.params)
    assert params == {
        "client_id": SIMKL_CLIENT_ID,
        "app-name": "scrobctl",
        "app-version": __version__,
    }
    assert NowPlayingResult(PROFILE, "simkl") in results


def test_nowplaying_episode_start_is_sent_by_show_season_and_number(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    episode = {
        "type": "episode",
        "event": "start",
        "show": {"title": "Severance", "ids": {"tvdb": 371_980}},
        "season": 1,
        "number": 2,
        "duration_ms": 3_300_000,
        "watched_ms": 330_000,
        "watched_at": int(clock.now()) - 330,
    }

    announce(logged_in_everywhere, episode)

    expected = {
        "show": {"ids": {"tvdb": 371_980}},
        "episode": {"season": 1, "number": 2},
        "progress": 10.0,
    }
    assert body(services["trakt"]) == expected
    assert body(services["simkl"]) == expected


# -- what is not sent, and failures -----------------------------------------------------------


def test_nowplaying_start_event_queues_nothing(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    result, _ = announce(logged_in_everywhere, track_start(clock), movie_start(clock))

    assert result.summary.queued == 0
    assert result.summary.not_a_play == 2
    assert job_counts.counts(logged_in_everywhere.store()) == {}
    count = logged_in_everywhere.store().conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    assert count == 0


def test_nowplaying_stale_start_event_is_not_sent(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    # Started 400 s ago, 218 s long: it has ended; "now playing" would be wrong.
    _, results = announce(logged_in_everywhere, track_start(clock, started_ago=400))

    assert results == []
    assert not services["lastfm"].called and not services["listenbrainz"].called


def test_nowplaying_failure_is_reported_in_the_result_not_raised(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    services["trakt"].respond(503, json={"error": "service unavailable"})

    _, results = announce(logged_in_everywhere, movie_start(clock))

    by_service = {r.service: r for r in results}
    assert by_service["trakt"].error is not None and "503" in by_service["trakt"].error
    assert not by_service["trakt"].reconnect
    assert by_service["simkl"] == NowPlayingResult(PROFILE, "simkl")  # the others still go out
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, "trakt")
    assert connection is not None and connection.status == connections.OK


def test_nowplaying_invalid_token_marks_reconnect_required(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    services["listenbrainz"].respond(
        401, json={"code": 401, "error": "Invalid authorization token."}
    )

    _, results = announce(logged_in_everywhere, track_start(clock))

    (refused,) = [r for r in results if r.service == "listenbrainz"]
    assert refused.reconnect
    assert "scrobctl login listenbrainz" in (refused.error or "")
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, "listenbrainz")
    assert connection is not None and connection.status == connections.RECONNECT_REQUIRED
    assert NowPlayingResult(PROFILE, "lastfm") in results


def test_nowplaying_lastfm_invalid_session_marks_reconnect_required(
    logged_in_everywhere: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    services["lastfm"].respond(403, json={"error": 9, "message": "Invalid session key"})

    _, results = announce(logged_in_everywhere, track_start(clock))

    (refused,) = [r for r in results if r.service == "lastfm"]
    assert refused.reconnect
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, "lastfm")
    assert connection is not None and connection.status == connections.RECONNECT_REQUIRED
