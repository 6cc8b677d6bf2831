"""Now-playing (scrobble/nowplaying.py): a start event read by `scrobctl scrobble` goes out at
once to the services routed for its type (Last.fm track.updateNowPlaying, ListenBrainz
playing_now, Trakt and Simkl /scrobble/start), is never queued, is dropped when stale, and
reports failures instead of raising them. respx stands in for all four services."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pylast
import pytest
import respx

from scrobctl import __version__
from scrobctl.accounts.common import APP_PROFILE
from scrobctl.http import make_client
from scrobctl.runtime import Runtime
from scrobctl.scrobble.nowplaying import NowPlayingResult, send_now_playing
from scrobctl.scrobble.service import IngestResult, ingest_events
from scrobctl.store import connections, queue
from tests.conftest import FakeClock
from tests.helpers import make_runtime

PROFILE = "default"
LASTFM = "https://ws.audioscrobbler.com/2.0/"
LISTENBRAINZ = "https://api.listenbrainz.org/1/submit-listens"
TRAKT = "https://api.trakt.tv/scrobble/start"
SIMKL = "https://api.simkl.com/scrobble/start"
LASTFM_APP = {"api_key": "lastfm-api-key", "api_secret": "lastfm-secret"}
SESSION_KEY = "lastfm-session-key"
LB_TOKEN = "lb-token"
TRAKT_TOKEN = "trakt-access-token"
SIMKL_CLIENT_ID = "simkl-client-id"
SIMKL_TOKEN = "simkl-token"
WEEK = 7 * 86_400
MATRIX = {"tmdb": 603, "imdb": "tt0133093"}


@pytest.fixture
def runtime(isolated_env: Path, clock: FakeClock) -> Iterator[Runtime]:
    """Logged in to all four services; Trakt's app in the settings, the others' in "@app"."""
    rt = make_runtime(
        isolated_env, clock, make_client, trakt={"client_id": "tid", "client_secret": "tsecret"}
    )
    tokens = rt.tokens()
    tokens.set(APP_PROFILE, "lastfm", LASTFM_APP)
    tokens.set(APP_PROFILE, "simkl", {"client_id": SIMKL_CLIENT_ID})
    tokens.set(PROFILE, "lastfm", {"session_key": SESSION_KEY})
    tokens.set(PROFILE, "listenbrainz", {"token": LB_TOKEN})
    tokens.set(PROFILE, "simkl", {"access_token": SIMKL_TOKEN})
    created = int(clock.now())
    tokens.set(
        PROFILE,
        "trakt",
        {
            "access_token": TRAKT_TOKEN,
            "refresh_token": "trakt-refresh",
            "expires_in": WEEK,
            "created_at": created,
        },
    )
    for service in ("lastfm", "listenbrainz", "simkl", "trakt"):
        connections.save_login(rt.store(), PROFILE, service, "rob")
    yield rt
    rt.close()


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
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(runtime, track_start(clock))

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
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(runtime, track_start(clock))

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
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(runtime, track_start(clock))

    assert sorted(r.service for r in results) == ["lastfm", "listenbrainz"]
    assert not services["trakt"].called and not services["simkl"].called


# -- video ------------------------------------------------------------------------------------


def test_nowplaying_movie_start_goes_to_trakt_scrobble_start_with_progress(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(runtime, movie_start(clock))

    route = services["trakt"]
    assert body(route) == {"movie": {"ids": MATRIX}, "progress": 12.5}
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TRAKT_TOKEN}"
    assert NowPlayingResult(PROFILE, "trakt") in results


def test_nowplaying_movie_start_goes_to_simkl_scrobble_start_with_progress(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    _, results = announce(runtime, movie_start(clock))

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
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
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

    announce(runtime, episode)

    expected = {
        "show": {"ids": {"tvdb": 371_980}},
        "episode": {"season": 1, "number": 2},
        "progress": 10.0,
    }
    assert body(services["trakt"]) == expected
    assert body(services["simkl"]) == expected


# -- what is not sent, and failures -----------------------------------------------------------


def test_nowplaying_start_event_queues_nothing(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    result, _ = announce(runtime, track_start(clock), movie_start(clock))

    assert result.summary.queued == 0
    assert result.summary.not_a_play == 2
    assert queue.counts(runtime.store()) == {}
    count = runtime.store().conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    assert count == 0


def test_nowplaying_stale_start_event_is_not_sent(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    # Started 400 s ago, 218 s long: it has ended; "now playing" would be wrong.
    _, results = announce(runtime, track_start(clock, started_ago=400))

    assert results == []
    assert not services["lastfm"].called and not services["listenbrainz"].called


def test_nowplaying_failure_is_reported_in_the_result_not_raised(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    services["trakt"].respond(503, json={"error": "service unavailable"})

    _, results = announce(runtime, movie_start(clock))

    by_service = {r.service: r for r in results}
    assert by_service["trakt"].error is not None and "503" in by_service["trakt"].error
    assert not by_service["trakt"].reconnect
    assert by_service["simkl"] == NowPlayingResult(PROFILE, "simkl")  # the others still go out
    connection = connections.get_connection(runtime.store(), PROFILE, "trakt")
    assert connection is not None and connection.status == connections.OK


def test_nowplaying_invalid_token_marks_reconnect_required(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    services["listenbrainz"].respond(
        401, json={"code": 401, "error": "Invalid authorization token."}
    )

    _, results = announce(runtime, track_start(clock))

    (refused,) = [r for r in results if r.service == "listenbrainz"]
    assert refused.reconnect
    assert "scrobctl login listenbrainz" in (refused.error or "")
    connection = connections.get_connection(runtime.store(), PROFILE, "listenbrainz")
    assert connection is not None and connection.status == connections.RECONNECT_REQUIRED
    assert NowPlayingResult(PROFILE, "lastfm") in results


def test_nowplaying_lastfm_invalid_session_marks_reconnect_required(
    runtime: Runtime, services: respx.MockRouter, clock: FakeClock
) -> None:
    services["lastfm"].respond(403, json={"error": 9, "message": "Invalid session key"})

    _, results = announce(runtime, track_start(clock))

    (refused,) = [r for r in results if r.service == "lastfm"]
    assert refused.reconnect
    connection = connections.get_connection(runtime.store(), PROFILE, "lastfm")
    assert connection is not None and connection.status == connections.RECONNECT_REQUIRED
